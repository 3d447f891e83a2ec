/**
 * Downloads a model repository's files from the Hugging Face hub (or a mirror with the same URL scheme:
 * {endpoint}/{repo}/resolve/{revision}/{file}) into cacheDir/<repo>/<revision>/.
 *
 * Each file goes to `<name>.partial` first and is renamed into place only once complete and verified, so the folder
 * never holds a half-written file under its real name. An interrupted download (dropped connection, cancel, crash)
 * resumes from the .partial file with an HTTP Range request. Files are checked against a sha256 passed in, or the
 * hub's checksum headers: `X-Linked-Etag` (the sha256 of an LFS file) or the `ETag` of a plain git file (its git blob
 * sha1). Hand-written on fetch rather than a hub client library: the JS ones (@huggingface/hub) do not resume
 * partial files, and this is one request loop.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface DownloadProgress {
  file: string;
  /** Bytes of this file on disk so far (including what an earlier, interrupted run had fetched). */
  receivedBytes: number;
  /** Size of the file, when the server says. */
  totalBytes?: number;
  /** Position of this file in the download list, from 0. */
  fileIndex: number;
  fileCount: number;
}

export interface DownloadOptions {
  /** "owner/name" (or a legacy single name). */
  repo: string;
  /** Branch, tag or commit. Default "main". */
  revision?: string;
  /**
   * Files to fetch. Default: config.json, tokenizer.json, tokenizer_config.json, then the optional
   * generation_config.json and chat_template.jinja, then model.safetensors.index.json and its shards if the repo has
   * one, else model.safetensors. A listed model.safetensors.index.json brings its shards along.
   */
  files?: string[];
  cacheDir: string;
  /** Default https://huggingface.co */
  endpoint?: string;
  /** Hugging Face access token (sent only to the endpoint's own host, not to redirected CDN hosts). */
  token?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Expected sha256 (hex) per file name; checked in addition to the server's checksum headers. */
  sha256?: Record<string, string>;
  /** How many times to resume a file after a network error. Default 3. */
  retries?: number;
}

/** A download failed: the message names the file and the URL or endpoint. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL_FILES = ['generation_config.json', 'chat_template.jinja'];
const INDEX_FILE = 'model.safetensors.index.json';

/** The folder downloadModel fills for a repo and revision. */
export function modelCacheFolder(cacheDir: string, repo: string, revision = 'main'): string {
  validateRepo(repo);
  // Revisions such as "refs/pr/1" become one folder name.
  return join(cacheDir, ...repo.split('/'), revision.replaceAll('/', '--'));
}

function validateRepo(repo: string): void {
  if (!/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(repo) || repo.includes('..')) {
    throw new DownloadError(`invalid repository name ${JSON.stringify(repo)} (expected "owner/name")`);
  }
}

function validateFileName(file: string, where: string): void {
  if (!file || file.startsWith('/') || file.split('/').some((part) => part === '..' || part === '') || file.includes('\\')) {
    throw new DownloadError(`${where}: invalid file name ${JSON.stringify(file)}`);
  }
}

export async function downloadModel(options: DownloadOptions): Promise<string> {
  const revision = options.revision ?? 'main';
  const folder = modelCacheFolder(options.cacheDir, options.repo, revision);
  mkdirSync(folder, { recursive: true });
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const context = { ...options, revision, endpoint, folder };

  const queue: Array<{ file: string; optional: boolean }> = options.files
    ? options.files.map((file) => ({ file, optional: false }))
    : [...REQUIRED_FILES.map((file) => ({ file, optional: false })), ...OPTIONAL_FILES.map((file) => ({ file, optional: true })), { file: INDEX_FILE, optional: true }];
  const done = new Set<string>();
  let hasIndex = false;
  for (let i = 0; i < queue.length; i++) {
    const { file, optional } = queue[i];
    if (done.has(file)) continue;
    validateFileName(file, `${options.repo}`);
    const fetched = await downloadFile(context, file, optional, { fileIndex: i, fileCount: queue.length });
    done.add(file);
    if (file === INDEX_FILE && fetched) {
      hasIndex = true;
      for (const shard of shardsOf(join(folder, INDEX_FILE))) {
        validateFileName(shard, join(folder, INDEX_FILE));
        queue.push({ file: shard, optional: false });
      }
    }
  }
  if (!options.files && !hasIndex) await downloadFile(context, 'model.safetensors', false, { fileIndex: queue.length, fileCount: queue.length + 1 });
  return folder;
}

function shardsOf(indexPath: string): string[] {
  try {
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error('field "weight_map" is missing');
    return [...new Set(Object.values(index.weight_map))];
  } catch (e) {
    throw new DownloadError(`${indexPath}: ${(e as Error).message}`);
  }
}

interface Context extends DownloadOptions {
  revision: string;
  endpoint: string;
  folder: string;
}

/** What one HTTP exchange gave: the final response and the checksum the hub announced on the first hop. */
interface Exchange {
  response: Response;
  url: string;
  /** sha256 (LFS) or git sha1 (plain file) announced by the hub, lower-case hex. */
  checksum?: { algorithm: 'sha256' | 'git-sha1'; hex: string };
  /** Whole-file size announced by the hub (X-Linked-Size), if any. */
  linkedSize?: number;
}

function etagHex(value: string | null): string | undefined {
  if (!value) return undefined;
  const hex = value.replace(/^W\//, '').replaceAll('"', '').trim().toLowerCase();
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

async function request(ctx: Context, url: string, rangeStart: number): Promise<Exchange> {
  const origin = new URL(ctx.endpoint).origin;
  let current = url;
  let checksum: Exchange['checksum'];
  let linkedSize: number | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'agentchord' };
    if (rangeStart > 0) headers.range = `bytes=${rangeStart}-`;
    if (ctx.token && new URL(current).origin === origin) headers.authorization = `Bearer ${ctx.token}`;
    let response: Response;
    try {
      // Redirects are followed by hand: the hub's checksum headers are on its own redirect response.
      response = await fetch(current, { headers, redirect: 'manual', signal: ctx.signal });
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new NetworkError(`cannot reach ${new URL(current).origin} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
    }
    if (hop === 0) {
      const linked = etagHex(response.headers.get('x-linked-etag'));
      const plain = etagHex(response.headers.get('etag'));
      if (linked?.length === 64) checksum = { algorithm: 'sha256', hex: linked };
      else if (plain?.length === 64) checksum = { algorithm: 'sha256', hex: plain };
      else if (plain?.length === 40 && response.status >= 200 && response.status < 300) checksum = { algorithm: 'git-sha1', hex: plain };
      const size = Number(response.headers.get('x-linked-size'));
      if (Number.isFinite(size) && size > 0) linkedSize = size;
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return { response, url: current, checksum, linkedSize };
  }
  throw new DownloadError(`${url}: too many redirects`);
}

/** A transient failure worth resuming after. */
class NetworkError extends Error {}

/** Downloads one file unless it is already in place. Returns false when an optional file does not exist. */
async function downloadFile(ctx: Context, file: string, optional: boolean, position: { fileIndex: number; fileCount: number }): Promise<boolean> {
  const dest = join(ctx.folder, file);
  if (existsSync(dest)) return true;
  mkdirSync(join(dest, '..'), { recursive: true });
  const partial = `${dest}.partial`;
  const url = `${ctx.endpoint}/${ctx.repo}/resolve/${encodeURIComponent(ctx.revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
  const retries = ctx.retries ?? 3;
  let checksum: Exchange['checksum'];
  let total: number | undefined;

  for (let attempt = 0; ; attempt++) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    try {
      const exchange = await request(ctx, url, have);
      const { response } = exchange;
      checksum = exchange.checksum ?? checksum;
      if (response.status === 404) {
        await response.body?.cancel();
        if (optional) return false;
        throw new DownloadError(`${ctx.repo}: file "${file}" not found at revision "${ctx.revision}" (HTTP 404 from ${url})`, 404);
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new DownloadError(`${ctx.repo}: access to "${file}" denied (HTTP ${response.status} from ${url}); a gated or private model needs a token`, response.status);
      }
      if (response.status === 416 && have > 0) {
        // Our partial file does not fit the server's file (changed upstream?): start again.
        await response.body?.cancel();
        rmSync(partial, { force: true });
        continue;
      }
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw new DownloadError(`${ctx.repo}: HTTP ${response.status} ${response.statusText} for "${file}" from ${url}`, response.status);
      }
      let offset = 0;
      if (response.status === 206) {
        const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '');
        offset = range ? Number(range[1]) : have;
        if (offset !== have) throw new DownloadError(`${url}: server resumed at byte ${offset}, expected ${have}`);
        if (range && range[2] !== '*') total = Number(range[2]);
      } else {
        const length = Number(response.headers.get('content-length'));
        if (Number.isFinite(length) && response.headers.has('content-length')) total = length;
      }
      total ??= exchange.linkedSize;
      await writeBody(response, partial, offset, (received) => ctx.onProgress?.({ file, receivedBytes: received, totalBytes: total, ...position }));
      break;
    } catch (e) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? e;
      if (!(e instanceof NetworkError) || attempt >= retries) {
        if (e instanceof NetworkError) throw new DownloadError(`${ctx.repo}: downloading "${file}" failed after ${attempt + 1} attempts: ${e.message}`);
        throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
  }

  const size = statSync(partial).size;
  if (total !== undefined && size !== total) {
    rmSync(partial, { force: true });
    throw new DownloadError(`${ctx.repo}: "${file}" has ${size} bytes, the server announced ${total}`);
  }
  const expected = ctx.sha256?.[file]?.toLowerCase();
  const checks: Array<{ algorithm: 'sha256' | 'git-sha1'; hex: string; source: string }> = [];
  if (expected) checks.push({ algorithm: 'sha256', hex: expected, source: 'the expected sha256' });
  if (checksum) checks.push({ ...checksum, source: `the server's ${checksum.algorithm === 'sha256' ? 'sha256' : 'git blob sha1'}` });
  for (const check of checks) {
    const actual = await hashFile(partial, check.algorithm, size);
    if (actual !== check.hex) {
      rmSync(partial, { force: true });
      throw new DownloadError(`${ctx.repo}: checksum mismatch for "${file}": ${check.source} is ${check.hex}, the downloaded file's is ${actual}`);
    }
  }
  renameSync(partial, dest);
  return true;
}

async function writeBody(response: Response, partial: string, offset: number, onProgress: (received: number) => void): Promise<void> {
  const handle = await open(partial, offset > 0 ? 'a' : 'w');
  let received = offset;
  onProgress(received);
  try {
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        await handle.write(chunk);
        received += chunk.length;
        onProgress(received);
      }
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new NetworkError(`connection lost after ${received} bytes (${(e as Error).message})`);
  } finally {
    await handle.close();
  }
}

function hashFile(path: string, algorithm: 'sha256' | 'git-sha1', size: number): Promise<string> {
  const hash = createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(`blob ${size}\0`);
  return new Promise((resolve, reject) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
