/**
 * `agentchord gpu status`: per execution provider, what it needs, what is found and what is missing, and the device
 * probe's verdict (a session really created on the probe graph, src/backend/runtime/device.ts). Every look at the
 * machine goes through a StatusHost, so tests run it on a fake file-system root with canned command output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Device } from '../../../protocol/attribution';
import { elfNeeded } from './elf';
import { gpuInstallDir, readInstalled, type InstalledRecord } from './install';
import { loadInstallMetadata, locateOrt, type OrtPackage } from './ortPackage';

export interface StatusHost {
  /** Prefix of every absolute path looked at ('/' on the real machine). */
  root: string;
  env: Record<string, string | undefined>;
  /** Output of `ldconfig -p`, or undefined when it cannot run. */
  ldconfig(): string | undefined;
  /** Output of `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader`, or undefined. */
  nvidiaSmi(): string | undefined;
  /** The probe's verdict: undefined when a session on the device works, else why not. */
  probe(device: Device): Promise<string | undefined>;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface ProviderReport {
  provider: Device;
  usable: boolean;
  /** "usable", or the probe's reason, or "not probed". */
  verdict: string;
  checks: Check[];
  /** Where the list of checks came from, and the like. */
  notes: string[];
}

export interface GpuStatusReport {
  ortVersion?: string;
  platform: string;
  bindingDir?: string;
  cache: { manifest: string; dir: string; installed: boolean; record?: InstalledRecord }[];
  providers: ProviderReport[];
  /** Problems that stopped part of the report (e.g. onnxruntime-node not found). */
  problems: string[];
}

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The real machine; the probe is passed in (device.ts's probeDevice) so this file does not load ORT by itself. */
export function systemStatusHost(probe: StatusHost['probe']): StatusHost {
  return {
    root: '/',
    env: process.env,
    ldconfig: () => run('ldconfig', ['-p']) ?? run('/sbin/ldconfig', ['-p']),
    nvidiaSmi: () => run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader']),
    probe,
  };
}

/** Used when the CUDA provider is not installed yet, so its own DT_NEEDED list cannot be read (ORT's CUDA 12 builds). */
const EXPECTED_CUDA_LIBS: Record<string, string[]> = {
  '12': ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9', 'libcurand.so.10', 'libcufft.so.11', 'libcudart.so.12'],
};

/** Libraries every Linux has: not worth a line. */
const SYSTEM_LIB = /^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux[^.]*|libonnxruntime[^.]*)\.so/;

const VULKAN_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

class Libraries {
  private cache?: Map<string, string>;
  constructor(private readonly host: StatusHost) {}

  /** Where the dynamic loader would find `soname`: LD_LIBRARY_PATH first, then the ldconfig cache. */
  find(soname: string): string | undefined {
    for (const dir of (this.host.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean)) {
      if (existsSync(join(this.host.root, dir, soname))) return join(dir, soname);
    }
    if (!this.cache) {
      this.cache = new Map();
      for (const line of (this.host.ldconfig() ?? '').split('\n')) {
        const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
        if (m && !this.cache.has(m[1]) && (!m[2].includes('x86-64') || process.arch === 'x64')) this.cache.set(m[1], m[3]);
      }
    }
    return this.cache.get(soname);
  }

  check(soname: string, what: string, hint: string): Check {
    const path = this.find(soname);
    return { what: `${soname} (${what})`, ok: !!path, detail: path ?? `not in LD_LIBRARY_PATH or the ldconfig cache: ${hint}` };
  }
}

function readText(host: StatusHost, path: string): string | undefined {
  try {
    return readFileSync(join(host.root, path), 'utf8');
  } catch {
    return undefined;
  }
}

function driverCheck(host: StatusHost): Check {
  const proc = readText(host, '/proc/driver/nvidia/version');
  const version = proc && /Kernel Module\s+(?:for \S+\s+)?([\d.]+)/.exec(proc)?.[1];
  if (proc) return { what: 'NVIDIA driver', ok: true, detail: `${version ?? proc.split('\n')[0].trim()} (/proc/driver/nvidia/version)` };
  const smi = host.nvidiaSmi()?.trim();
  if (smi) return { what: 'NVIDIA driver', ok: true, detail: `${smi.split('\n').join('; ')} (nvidia-smi)` };
  return { what: 'NVIDIA driver', ok: false, detail: 'no /proc/driver/nvidia/version and no nvidia-smi: no NVIDIA GPU or driver on this machine (or not passed into this container)' };
}

function providerFileCheck(ort: OrtPackage, file: string, cacheDir: string | undefined): Check {
  const at = join(ort.bindingDir, file);
  let detail: string;
  let ok = false;
  let stat;
  try {
    stat = lstatSync(at);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) {
    ok = existsSync(at);
    detail = ok ? `linked to ${realpathSync(at)}` : `a broken link in ${ort.bindingDir}: run \`agentchord gpu install\``;
  } else if (stat) {
    ok = true;
    detail = `${at} (installed by onnxruntime-node's own installer)`;
  } else if (cacheDir && existsSync(join(cacheDir, file))) {
    detail = `in the cache (${cacheDir}) but not linked into ${ort.bindingDir}: run \`agentchord gpu install\``;
  } else {
    detail = 'not installed: run `agentchord gpu install`';
  }
  return { what: `${file} (ORT's CUDA provider)`, ok, detail };
}

/** The sonames the CUDA provider needs: from the installed binary itself, else the list for its CUDA major version. */
function cudaSonames(ort: OrtPackage, manifest: string, cacheDir: string | undefined): { sonames: string[]; source: string } {
  for (const file of [join(ort.bindingDir, 'libonnxruntime_providers_cuda.so'), cacheDir && join(cacheDir, 'libonnxruntime_providers_cuda.so')]) {
    if (!file || !existsSync(file)) continue;
    try {
      const needed = elfNeeded(file);
      if (needed) return { sonames: needed.filter((n) => !SYSTEM_LIB.test(n)), source: `read from ${file}` };
    } catch {
      // Unreadable: fall back to the expected list.
    }
  }
  const major = /^cuda(\d+)$/.exec(manifest)?.[1];
  const expected = major ? EXPECTED_CUDA_LIBS[major] : undefined;
  return expected ? { sonames: expected, source: `the list expected for ${manifest} (read from the provider itself once it is installed)` } : { sonames: [], source: `unknown for ${manifest} until the provider is installed` };
}

export interface GpuStatusOptions {
  ortDir?: string;
  cacheDir?: string;
  /** Skip the probes (no ORT session is created). */
  probe?: boolean;
}

export async function gpuStatus(host: StatusHost, options: GpuStatusOptions = {}): Promise<GpuStatusReport> {
  const report: GpuStatusReport = { platform: `${process.platform}/${process.arch}`, cache: [], providers: [], problems: [] };
  const libs = new Libraries(host);
  let ort: OrtPackage | undefined;
  let manifests: { name: string; files: string[] }[] = [];
  try {
    ort = locateOrt(options.ortDir);
    report.ortVersion = ort.version;
    report.platform = ort.platform;
    report.bindingDir = ort.bindingDir;
    const metadata = loadInstallMetadata(ort);
    manifests = metadata.manifestNames.map((name) => ({ name, files: metadata.manifests[name].map((f) => f.file) }));
  } catch (err) {
    report.problems.push((err as Error).message);
  }
  for (const m of manifests) {
    const dir = gpuInstallDir(ort!, m.name, options.cacheDir);
    const record = readInstalled(dir);
    report.cache.push({ manifest: m.name, dir, installed: !!record, record });
  }

  const verdict = async (device: Device): Promise<{ usable: boolean; verdict: string }> => {
    if (options.probe === false) return { usable: false, verdict: 'not probed (--no-probe)' };
    const why = await host.probe(device);
    return why === undefined ? { usable: true, verdict: 'usable' } : { usable: false, verdict: why };
  };

  // CUDA
  const cudaNotes: string[] = [];
  const cudaChecks: Check[] = [driverCheck(host), libs.check('libcuda.so.1', 'the driver library', 'it comes with the NVIDIA driver')];
  const cudaManifest = manifests.find((m) => /^cuda/.test(m.name));
  if (ort && cudaManifest) {
    const cache = report.cache.find((c) => c.manifest === cudaManifest.name);
    const cacheDir = cache?.installed ? cache.dir : undefined;
    for (const file of cudaManifest.files.filter((f) => /providers_(cuda|shared)\.so$/.test(f))) cudaChecks.push(providerFileCheck(ort, file, cacheDir));
    const { sonames, source } = cudaSonames(ort, cudaManifest.name, cacheDir);
    cudaNotes.push(`CUDA and cuDNN libraries: ${source}`);
    const major = /^cuda(\d+)$/.exec(cudaManifest.name)?.[1] ?? '';
    for (const soname of sonames) {
      const cudnn = /cudnn/.test(soname);
      cudaChecks.push(
        libs.check(
          soname,
          cudnn ? 'cuDNN' : 'CUDA runtime',
          cudnn
            ? `install cuDNN ${/\.so\.(\d+)/.exec(soname)?.[1] ?? ''} for CUDA ${major} and put its lib folder on LD_LIBRARY_PATH`
            : `install the CUDA ${major} libraries (toolkit or redistributables) and put their lib folder on LD_LIBRARY_PATH`,
        ),
      );
    }
  } else if (ort) {
    cudaChecks.push({ what: 'CUDA provider', ok: false, detail: `onnxruntime-node ${ort.version} has no CUDA provider package for ${ort.platform}` });
  }
  report.providers.push({ provider: 'cuda', checks: cudaChecks, notes: cudaNotes, ...(await verdict('cuda')) });

  // WebGPU (Dawn, on Vulkan on Linux)
  const webgpuChecks: Check[] = [];
  if (report.platform.startsWith('linux/')) {
    webgpuChecks.push(libs.check('libvulkan.so.1', 'the Vulkan loader Dawn uses', 'install the Vulkan loader (e.g. apt install libvulkan1)'));
    const explicit = host.env.VK_DRIVER_FILES || host.env.VK_ICD_FILENAMES;
    const icds = explicit
      ? explicit.split(delimiter).filter(Boolean)
      : VULKAN_ICD_DIRS.flatMap((d) => {
          try {
            return readdirSync(join(host.root, d)).filter((n) => n.endsWith('.json')).map((n) => join(d, n));
          } catch {
            return [];
          }
        });
    webgpuChecks.push({
      what: 'Vulkan driver (ICD)',
      ok: icds.length > 0,
      detail: icds.length ? icds.join(', ') : `no ICD manifest in ${VULKAN_ICD_DIRS.join(', ')} (the GPU vendor's Vulkan driver, e.g. NVIDIA's or Mesa's)`,
    });
  }
  report.providers.push({ provider: 'webgpu', checks: webgpuChecks, notes: [], ...(await verdict('webgpu')) });

  // CPU: bundled, needs nothing.
  report.providers.push({ provider: 'cpu', checks: [], notes: ['bundled with onnxruntime-node; needs nothing else'], ...(await verdict('cpu')) });
  return report;
}

export function formatGpuStatus(report: GpuStatusReport): string {
  const lines: string[] = [];
  lines.push(report.ortVersion ? `onnxruntime-node ${report.ortVersion} (${report.platform}), binaries in ${report.bindingDir}` : `onnxruntime-node: not found (${report.platform})`);
  for (const p of report.problems) lines.push(`problem: ${p}`);
  for (const c of report.cache) {
    lines.push(`GPU runtime cache (${c.manifest}): ${c.dir}: ${c.installed ? `installed from ${c.record?.url}${c.record?.sha512 ? ' (SHA-512 checked)' : ' (not verified)'}` : 'not installed (`agentchord gpu install`)'}`);
  }
  for (const p of report.providers) {
    lines.push('');
    lines.push(`${p.provider}: ${p.usable ? 'usable' : `not usable: ${p.verdict}`}`);
    for (const n of p.notes) lines.push(`  (${n})`);
    for (const c of p.checks) lines.push(`  ${c.ok ? 'ok     ' : 'missing'}  ${c.what}: ${c.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
