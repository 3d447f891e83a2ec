/**
 * The model cache behind `agentchord model pull|list|rm`: a Hugging Face repository at a revision, pulled into
 * <models dir>/<org>/<name>/<revision>/ (src/shared/modelCache.ts says where), by the resumable downloader in
 * hfDownload.ts. A pull:
 *  1. lists the repository (revision and tree APIs: sizes and LFS sha256s; 401/403/404 become clear errors);
 *  2. fetches config.json first and checks it against what the attribution backend runs (src/backend/model/config.ts),
 *     so an unsupported architecture costs one small file, not gigabytes of weights (and leaves nothing behind);
 *  3. fetches the selected files (default: config, tokenizer, generation config, chat template, *.safetensors and
 *     their index), each verified against the listing's size and sha256;
 *  4. writes PULL_RECORD last: a folder without it is an incomplete pull (a later pull resumes it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { minimatch } from 'minimatch';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { DEFAULT_REVISION, isRevision, modelFolder, modelsDir, PULL_RECORD } from '../../shared/modelCache';
import { ModelError } from '../errors';
import { parseModelConfig, SUPPORTED_MODEL_TYPES } from '../model/config';
import { DEFAULT_ENDPOINT, DownloadError, downloadModel, listRepoFiles, type DownloadProgress, type HubFile } from './hfDownload';

/** What a pull fetches unless --include says otherwise: what loading, tokenizing and chat rendering read. */
export const DEFAULT_INCLUDES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
  '*.safetensors',
  'model.safetensors.index.json',
];

export interface PullOptions {
  repo: string;
  revision?: string;
  /** Globs over the repository's paths (minimatch); replace DEFAULT_INCLUDES. */
  include?: string[];
  /** The folder to put the files in; default the model cache's folder for the repo and revision. */
  dir?: string;
  /** Default https://huggingface.co ($HF_ENDPOINT in the CLI). */
  endpoint?: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called once the listing is known: how many files and bytes will be fetched. */
  onPlan?: (plan: { files: HubFile[]; bytes: number }) => void;
  retries?: number;
}

export interface PullRecord {
  repo: string;
  revision: string;
  commit?: string;
  endpoint: string;
  files: string[];
  bytes: number;
  pulledAt: string;
}

export interface PullResult extends PullRecord {
  dir: string;
}

export async function pullModel(options: PullOptions): Promise<PullResult> {
  const revision = options.revision ?? DEFAULT_REVISION;
  if (!isRevision(revision)) throw new DownloadError(`invalid revision ${JSON.stringify(revision)}`);
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const listing = await listRepoFiles({ repo: options.repo, revision, endpoint, token: options.token, signal: options.signal });

  const includes = options.include?.length ? options.include : DEFAULT_INCLUDES;
  const selected = listing.files.filter((f) => includes.some((glob) => minimatch(f.path, glob, { dot: true })));
  if (!options.include?.length && !selected.some((f) => f.path.endsWith('.safetensors'))) {
    const others = listing.files.filter((f) => /\.(bin|pt|pth|gguf|onnx|h5|msgpack)$/.test(f.path)).map((f) => f.path);
    throw new DownloadError(
      `${options.repo}@${revision}: no *.safetensors weights in the repository` +
        (others.length ? ` (it has ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}; the backend reads safetensors only)` : ''),
    );
  }
  if (selected.length === 0) throw new DownloadError(`${options.repo}@${revision}: no file matches --include ${includes.join(' ')}`);
  const config = listing.files.find((f) => f.path === 'config.json');
  if (!config) throw new DownloadError(`${options.repo}@${revision}: the repository has no config.json, so it is not a model the backend can load`);

  const dir = options.dir ?? modelFolder(options.repo, revision);
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true });
  // The folder may hold a record of an earlier pull (other includes): it is rewritten once this one completes.
  const sha256 = Object.fromEntries(listing.files.filter((f) => f.lfs).map((f) => [f.path, f.lfs!.sha256]));
  const sizes = Object.fromEntries(listing.files.map((f) => [f.path, f.size]));
  const common = { repo: options.repo, revision, endpoint, token: options.token, signal: options.signal, sha256, sizes, retries: options.retries };
  const target = { ...common, folder: dir };

  await fetchInto(target, ['config.json'], options.onProgress);
  try {
    checkSupported(join(dir, 'config.json'), options.repo);
  } catch (e) {
    // Leave nothing of an unsupported model behind (but never delete a folder the user already had).
    if (!existed) rmSync(dir, { recursive: true, force: true });
    else rmSync(join(dir, 'config.json'), { force: true });
    throw e;
  }
  const rest = selected.filter((f) => f.path !== 'config.json');
  options.onPlan?.({ files: selected, bytes: selected.reduce((n, f) => n + f.size, 0) });
  await fetchInto(target, rest.map((f) => f.path), options.onProgress);

  const files = [...new Set(['config.json', ...rest.map((f) => f.path)])];
  const record: PullRecord = {
    repo: options.repo,
    revision,
    ...(listing.commit && { commit: listing.commit }),
    endpoint,
    files,
    bytes: files.reduce((n, f) => n + (sizes[f] ?? 0), 0),
    pulledAt: new Date().toISOString(),
  };
  writeFileAtomicSync(join(dir, PULL_RECORD), JSON.stringify(record, null, 2) + '\n');
  return { ...record, dir };
}

type Target = Parameters<typeof downloadModel>[0];

async function fetchInto(target: Target, files: string[], onProgress: PullOptions['onProgress']): Promise<void> {
  if (files.length === 0) return;
  await downloadModel({ ...target, files, onProgress });
}

/** config.json against the architectures src/backend/model implements; a ModelError-free return means loadable. */
function checkSupported(configFile: string, repo: string): void {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DownloadError(`${repo}: config.json is not valid JSON (${(e as Error).message})`);
  }
  const architectures = Array.isArray(raw.architectures) ? raw.architectures.join(', ') : undefined;
  try {
    parseModelConfig(raw, `${repo}: config.json`);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    throw new DownloadError(
      `${repo}: the attribution backend cannot run this model${architectures ? ` (${architectures}, model_type ${JSON.stringify(raw.model_type)})` : ''}: ` +
        `${e.message}; supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')}. No weights were downloaded.`,
    );
  }
}

export interface PulledModel {
  repo: string;
  revision: string;
  dir: string;
  /** Bytes on disk (the folder's files). */
  bytes: number;
  /** False when the pull did not finish (no PULL_RECORD): `model pull` again resumes it. */
  complete: boolean;
  commit?: string;
}

/** The models in the cache (<dir>/<org>/<name>/<revision>/ with a config.json or a record), sorted. */
export function listPulledModels(dir: string = modelsDir()): PulledModel[] {
  const out: PulledModel[] = [];
  const subdirs = (d: string) => {
    try {
      return readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  for (const org of subdirs(dir)) {
    for (const name of subdirs(join(dir, org))) {
      for (const rev of subdirs(join(dir, org, name))) {
        const folder = join(dir, org, name, rev);
        const recordFile = join(folder, PULL_RECORD);
        let record: Partial<PullRecord> | undefined;
        try {
          record = JSON.parse(readFileSync(recordFile, 'utf8')) as Partial<PullRecord>;
        } catch {
          record = undefined;
        }
        if (!record && !existsSync(join(folder, 'config.json')) && !readdirSync(folder).some((f) => f.endsWith('.partial'))) continue;
        out.push({
          repo: record?.repo ?? `${org}/${name}`,
          revision: record?.revision ?? rev.replaceAll('--', '/'),
          dir: folder,
          bytes: folderBytes(folder),
          complete: record !== undefined,
          ...(record?.commit && { commit: record.commit }),
        });
      }
    }
  }
  return out;
}

function folderBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + folderBytes(join(path, name)), 0);
}

/**
 * Removes a pulled model: one revision, or every revision of the repository. Returns the folders removed; empty
 * parent folders go too. Refuses a name that is not a repository id (so no path can escape the cache).
 */
export function removePulledModel(repo: string, revision: string | undefined, dir: string = modelsDir()): string[] {
  const matches = listPulledModels(dir).filter((m) => m.repo === repo && (revision === undefined || m.revision === revision));
  const folders = revision !== undefined && matches.length === 0 && existsSync(modelFolder(repo, revision, dir)) ? [modelFolder(repo, revision, dir)] : matches.map((m) => m.dir);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  for (const parent of new Set(folders.map((f) => dirname(f)))) {
    for (let p = parent; p.startsWith(dir) && p !== dir; p = dirname(p)) {
      try {
        if (readdirSync(p).length > 0) break;
        rmSync(p, { recursive: true });
      } catch {
        break;
      }
    }
  }
  return folders;
}
