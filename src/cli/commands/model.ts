/**
 * `agentchord model pull|list|rm`: Hugging Face models in the model cache (src/backend/download/modelCache.ts), so a
 * system file can name them by repository id (`path: Qwen/Qwen3-0.6B`). The hub is $HF_ENDPOINT (default
 * https://huggingface.co, as huggingface_hub reads it); $HF_TOKEN is sent to it for gated and private models and is
 * never printed.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { DownloadError, DEFAULT_ENDPOINT, type DownloadProgress } from '../../backend/download/hfDownload';
import { DEFAULT_INCLUDES, listPulledModels, pullModel, removePulledModel } from '../../backend/download/modelCache';
import { isRevision, modelsDir, parseModelRef } from '../../shared/modelCache';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';
import { progressLine } from './progressLine';

const HELP = `Usage: agentchord model pull <org/name>[@revision] [--revision <r>] [--include <glob>]... [--dir <d>]
       agentchord model list [--json]
       agentchord model rm <org/name>[@revision] [--revision <r>]

  pull     downloads a Hugging Face model repository into the model cache (resumes an interrupted download; LFS files
           are checked against the hub's sha256). config.json comes first: a model the attribution backend cannot
           run (e.g. Mamba) is refused before any weights are fetched. Default files: ${DEFAULT_INCLUDES.join(', ')}.
             --revision <r>    branch, tag or commit (default main)
             --include <glob>  repository paths to fetch instead of the defaults (repeat the option; config.json
                               is always fetched)
             --dir <d>         put the files in <d> instead of the model cache
  list     the pulled models: repository, revision, size, folder
  rm       removes a pulled model (one revision with --revision or @revision, else all of them)

The model cache is $AGENTCHORD_MODELS, else \${AGENTCHORD_CACHE:-~/.cache/agentchord}/models, as
<org>/<name>/<revision>/. In agentchord.yaml a local model's path may be the repository id:
  models: { surrogate: { provider: local, path: Qwen/Qwen3-0.6B } }

Environment: HF_ENDPOINT (the hub or a mirror; default ${DEFAULT_ENDPOINT}), HF_TOKEN (an access token for gated or
private models: accept the model's licence on the hub first).`;

const mb = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

function refFrom(command: string, positional: string | undefined, revisionOption: string | undefined): { repo: string; revision?: string } {
  if (!positional) throw new CliError(`model ${command}: name a repository, e.g. 'agentchord model ${command} Qwen/Qwen3-0.6B'`);
  const ref = parseModelRef(positional);
  if (!ref) throw new CliError(`model ${command}: '${positional}' is not a repository id (expected org/name or org/name@revision)`);
  const fromAt = positional.includes('@') ? ref.revision : undefined;
  if (revisionOption !== undefined && !isRevision(revisionOption)) throw new CliError(`model ${command}: --revision: invalid revision '${revisionOption}'`);
  if (fromAt !== undefined && revisionOption !== undefined && fromAt !== revisionOption) {
    throw new CliError(`model ${command}: two revisions given ('@${fromAt}' and --revision ${revisionOption})`);
  }
  return { repo: ref.repo, revision: revisionOption ?? fromAt };
}

/** Progress: a bar on a terminal; otherwise one line per finished file (logs stay short). */
function progressReporter(): { onProgress: (p: DownloadProgress) => void; done: () => void } {
  const line = progressLine();
  const tty = process.stderr.isTTY;
  let last = '';
  return {
    onProgress(p) {
      if (tty) {
        line.update(`${p.file} ${mb(p.receivedBytes)}${p.totalBytes ? ` / ${mb(p.totalBytes)}` : ''}`, p.totalBytes ? p.receivedBytes : undefined, p.totalBytes);
      }
      if (p.totalBytes !== undefined && p.receivedBytes === p.totalBytes && last !== p.file) {
        last = p.file;
        line.clear();
        process.stderr.write(`  ${p.file} (${mb(p.totalBytes)})\n`);
      }
    },
    done: () => line.clear(),
  };
}

async function pull(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('model pull', {
    args,
    allowPositionals: true,
    options: { revision: { type: 'string' }, include: { type: 'string', multiple: true }, dir: { type: 'string' } },
  });
  if (positionals.length > 1) throw new CliError(`model pull: unexpected argument '${positionals[1]}' (several globs: repeat --include)`);
  const { repo, revision } = refFrom('pull', positionals[0], values.revision);
  const endpoint = process.env.HF_ENDPOINT || DEFAULT_ENDPOINT;
  try {
    new URL(endpoint);
  } catch {
    throw new CliError(`model pull: HF_ENDPOINT '${endpoint}' is not a URL (e.g. https://huggingface.co)`);
  }
  const token = process.env.HF_TOKEN || undefined;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const progress = progressReporter();
  process.stderr.write(`pulling ${repo}@${revision ?? 'main'} from ${endpoint}\n`);
  try {
    const result = await pullModel({
      repo,
      revision,
      include: values.include,
      dir: values.dir ? resolve(values.dir) : undefined,
      endpoint,
      token,
      signal: controller.signal,
      onProgress: progress.onProgress,
      onPlan: (plan) => process.stderr.write(`  ${plan.files.length} files, ${mb(plan.bytes)}\n`),
    });
    progress.done();
    process.stdout.write(`${result.repo}@${result.revision}${result.commit ? ` (${result.commit.slice(0, 12)})` : ''}: ${result.files.length} files, ${mb(result.bytes)} in ${result.dir}\n`);
    return 0;
  } catch (e) {
    progress.done();
    if (controller.signal.aborted) throw new CliError(`model pull: interrupted; run the same command again to resume`, 130);
    if (e instanceof DownloadError) throw new CliError(`model pull: ${redact(e.message, token)}`, 1);
    throw e;
  } finally {
    process.off('SIGINT', stop);
  }
}

/** The token never reaches a message, whatever a server echoed into one. */
function redact(message: string, token: string | undefined): string {
  return token ? message.split(token).join('***') : message;
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('model list', { args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length) throw new CliError(`model list: unexpected argument '${positionals[0]}'`);
  const dir = modelsDir();
  const models = listPulledModels(dir);
  if (values.json) {
    process.stdout.write(JSON.stringify(models, null, 2) + '\n');
    return 0;
  }
  if (models.length === 0) {
    process.stdout.write(`no models in ${dir} (agentchord model pull <org/name>)\n`);
    return 0;
  }
  const rows = models.map((m) => [m.repo, m.revision, mb(m.bytes), shown(dir, m.dir) + (m.complete ? '' : '  (incomplete: pull again to resume)')]);
  const header = ['REPOSITORY', 'REVISION', 'SIZE', `FOLDER (in ${dir})`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) process.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
  return 0;
}

const shown = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};

async function rm(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions('model rm', { args, allowPositionals: true, options: { revision: { type: 'string' } } });
  if (positionals.length > 1) throw new CliError(`model rm: unexpected argument '${positionals[1]}'`);
  const { repo, revision } = refFrom('rm', positionals[0], values.revision);
  const removed = removePulledModel(repo, revision);
  if (removed.length === 0) throw new CliError(`model rm: ${repo}${revision ? `@${revision}` : ''} is not in ${modelsDir()} (see 'agentchord model list')`, 1);
  for (const folder of removed) process.stdout.write(`removed ${folder}\n`);
  return 0;
}

const subcommands: Record<string, (args: string[]) => Promise<number>> = { pull, list, rm };

export const modelCommand: Command = {
  name: 'model',
  summary: 'pull Hugging Face models into the model cache, list them, remove them',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const [name, ...rest] = args;
    const run = name === undefined ? undefined : Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
    if (!run) throw new CliError(`model: expected ${Object.keys(subcommands).join(', ')}${name ? ` (got '${name}')` : ''} (see 'agentchord model --help')`);
    return run(rest);
  },
};
