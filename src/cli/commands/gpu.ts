/**
 * `agentchord gpu install | status`: the GPU execution-provider binaries onnxruntime-node does not bundle, and what
 * each provider needs on this machine (docs/gpu.md).
 */
import { probeDevice } from '../../backend/runtime/device';
import { GPU_FEED_ENV, GpuInstallCancelled, GpuInstallError, installGpuRuntime, type GpuInstallResult } from '../../backend/runtime/gpu/install';
import { OrtPackageError } from '../../backend/runtime/gpu/ortPackage';
import { formatGpuStatus, gpuStatus, systemStatusHost } from '../../backend/runtime/gpu/status';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';
import { progressLine } from './progressLine';

const HELP = `Usage: agentchord gpu install [--feed <url>] [--allow-unverified] [--json]
       agentchord gpu status [--json] [--no-probe]

install  Downloads the CUDA execution-provider binaries for the installed onnxruntime-node version from the NuGet
         package its own installer uses (Microsoft.ML.OnnxRuntime.Gpu.Linux on nuget.org), checks the package's
         SHA-512 against the feed's packageHash, unpacks them into <cache>/gpu/onnxruntime-<version>/ and links them
         next to onnxruntime-node's binaries, where ORT looks for providers. <cache> is $AGENTCHORD_CACHE or
         ~/.cache/agentchord. Ctrl-C leaves nothing behind.
  --feed <url>          a NuGet v3 service index to use instead (a mirror); default $${GPU_FEED_ENV}, else nuget.org
  --allow-unverified    install even when the feed publishes no packageHash for the package
  --json                print the result as JSON

status   What CUDA, WebGPU and the CPU each need here (driver, CUDA and cuDNN libraries, provider binaries, Vulkan),
         what is missing, and whether a session on each really starts (the device probe).
  --json                print the report as JSON
  --no-probe            do not create ORT sessions (only look at files and libraries)`;

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function install(args: string[]): Promise<number> {
  const { values } = parseOptions('gpu install', {
    args,
    options: { feed: { type: 'string' }, 'allow-unverified': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  // The extension cancels with SIGTERM; both leave nothing behind (the install cleans up when aborted).
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = progressLine();
  let lastPhase = '';
  let result: GpuInstallResult;
  try {
    result = await installGpuRuntime({
      feed: values.feed,
      allowUnverified: values['allow-unverified'],
      signal: controller.signal,
      warn: (m) => {
        progress.clear();
        process.stderr.write(`warning: ${m}\n`);
      },
      onProgress: (p) => {
        const text = p.receivedBytes !== undefined ? `${p.message}: ${mb(p.receivedBytes)}${p.totalBytes ? ` of ${mb(p.totalBytes)}` : ''}` : p.message;
        if (process.stderr.isTTY) {
          progress.update(text);
        } else if (p.phase !== lastPhase) {
          // Pipes (the VS Code command reads these) get one line per phase.
          process.stderr.write(`${p.message}${p.totalBytes ? ` (${mb(p.totalBytes)})` : ''}\n`);
        }
        lastPhase = p.phase;
      },
    });
  } catch (err) {
    progress.clear();
    if (err instanceof GpuInstallCancelled) throw new CliError(err.message, 130);
    if (err instanceof GpuInstallError || err instanceof OrtPackageError) throw new CliError(`gpu install: ${err.message}`, 1);
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  progress.clear();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  for (const m of result.manifests) {
    const how = m.downloaded ? `installed ${m.record.package} ${m.record.packageVersion}${m.record.sha512 ? ' (SHA-512 checked)' : ' (NOT verified)'}` : 'already in the cache';
    process.stdout.write(`${m.manifest}: ${how} in ${m.dir}\n`);
    if (m.linked.length) process.stdout.write(`  linked into ${result.bindingDir}: ${m.linked.join(', ')}\n`);
    if (m.kept.length) process.stdout.write(`  already there (kept): ${m.kept.join(', ')}\n`);
  }
  process.stdout.write("The CUDA provider also needs the NVIDIA driver, CUDA 12 and cuDNN 9 libraries: see 'agentchord gpu status'.\n");
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parseOptions('gpu status', { args, options: { json: { type: 'boolean' }, 'no-probe': { type: 'boolean' } } });
  const report = await gpuStatus(systemStatusHost(probeDevice), { probe: !values['no-probe'] });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatGpuStatus(report));
  return 0;
}

export const gpuCommand: Command = {
  name: 'gpu',
  summary: 'install the CUDA provider binaries; show what each GPU provider needs here',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'install') return install(rest);
    if (sub === 'status') return status(rest);
    throw new CliError(sub ? `gpu: unknown subcommand '${sub}' (install, status)` : "gpu: name a subcommand: install or status (see 'agentchord gpu --help')");
  },
};
