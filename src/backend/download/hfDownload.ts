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
import { modelFolder } from '../../shared/modelCache';

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
  /** The files go to cacheDir/<repo>/<revision>/ … */
  cacheDir?: string;
  /** … or, given, into this folder itself. */
  folder?: string;
  /** Default https://huggingface.co */
  endpoint?: string;
  /** Hugging Face access token (sent only to the endpoint's own host, not to redirected CDN hosts). */
  token?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Expected sha256 (hex) per file name; checked in addition to the server's checksum headers. */
  sha256?: Record<string, string>;
  /** Expected size in bytes per file name (e.g. from the hub's tree listing); a file of another size is refused. */
  sizes?: Record<string, number>;
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
  return modelFolder(repo, revision, cacheDir);
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
  validateRepo(options.repo);
  if (options.folder === undefined && options.cacheDir === undefined) throw new DownloadError('downloadModel: give cacheDir or folder');
  const folder = options.folder ?? modelCacheFolder(options.cacheDir!, options.repo, revision);
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
        throw new DownloadError(`${ctx.repo}: access to "${file}" denied (HTTP ${response.status} from ${url}); ${accessHint(ctx.endpoint, ctx.repo, response.status, ctx.token !== undefined)}`, response.status);
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
  const listed = ctx.sizes?.[file];
  if (listed !== undefined && size !== listed) {
    rmSync(partial, { force: true });
    throw new DownloadError(`${ctx.repo}: "${file}" has ${size} bytes, the hub's file listing says ${listed}`);
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

/** What to do about a 401/403 from the hub. Never includes the token. */
export function accessHint(endpoint: string, repo: string, status: number, hadToken: boolean): string {
  const page = `${endpoint.replace(/\/+$/, '')}/${repo}`;
  if (!hadToken) return `a gated or private model needs an access token: accept the model's licence on ${page} (logged in), then set HF_TOKEN to an access token of that account`;
  if (status === 403) return `the token in HF_TOKEN has no access to it: accept the model's licence on ${page} with that account (or use a token with read access)`;
  return `the token in HF_TOKEN was refused (expired or mistyped?); if the model is gated, accept its licence on ${page}`;
}

/** One entry of the hub's tree listing (`GET /api/models/{repo}/tree/{revision}?recursive=1`). */
export interface HubFile {
  path: string;
  size: number;
  /** Present for LFS files: the sha256 of the content. */
  lfs?: { sha256: string; size: number };
}

export interface HubListing {
  /** The commit the revision points at, when the hub says. */
  commit?: string;
  files: HubFile[];
}

type ListingOptions = Pick<DownloadOptions, 'repo' | 'revision' | 'endpoint' | 'token' | 'signal'>;

/**
 * The files of a repository at a revision, with sizes and LFS sha256s: the revision API (commit, and a clear 404 for
 * a missing repo or revision) then the recursive tree API, following its `Link: rel="next"` pages.
 */
export async function listRepoFiles(options: ListingOptions): Promise<HubListing> {
  validateRepo(options.repo);
  const revision = options.revision ?? 'main';
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const base = `${endpoint}/api/models/${options.repo}`;
  const info = (await hubJson(options, endpoint, revision, `${base}/revision/${encodeURIComponent(revision)}`)) as { sha?: unknown };
  const files: HubFile[] = [];
  let next: string | undefined = `${base}/tree/${encodeURIComponent(revision)}?recursive=1`;
  for (let page = 0; next && page < 1000; page++) {
    const { body, link } = await hubJsonWithLink(options, endpoint, revision, next);
    if (!Array.isArray(body)) throw new DownloadError(`${next}: expected a JSON array (the hub's tree listing)`);
    for (const entry of body as Array<Record<string, unknown>>) {
      if (entry?.type !== 'file' || typeof entry.path !== 'string' || typeof entry.size !== 'number') continue;
      const lfs = entry.lfs as { oid?: unknown; size?: unknown } | undefined;
      files.push({
        path: entry.path,
        size: entry.size,
        ...(lfs && typeof lfs.oid === 'string' && { lfs: { sha256: lfs.oid.toLowerCase(), size: typeof lfs.size === 'number' ? lfs.size : entry.size } }),
      });
    }
    next = link;
  }
  return { ...(typeof info.sha === 'string' && { commit: info.sha }), files };
}

async function hubJson(options: ListingOptions, endpoint: string, revision: string, url: string): Promise<unknown> {
  return (await hubJsonWithLink(options, endpoint, revision, url)).body;
}

async function hubJsonWithLink(options: ListingOptions, endpoint: string, revision: string, url: string): Promise<{ body: unknown; link?: string }> {
  const headers: Record<string, string> = { 'user-agent': 'agentchord', accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(`cannot reach ${endpoint} (${cause?.code ?? cause?.message ?? (e as Error).message}); set HF_ENDPOINT for a mirror`);
  }
  const code = response.headers.get('x-error-code') ?? '';
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    if (code === 'RepoNotFound') throw new DownloadError(`${options.repo}: repository not found at ${endpoint} (HTTP ${response.status}); if it is private, set HF_TOKEN to an access token with access to it`, response.status);
    throw new DownloadError(`${options.repo}: access denied (HTTP ${response.status} from ${url}); ${accessHint(endpoint, options.repo, response.status, options.token !== undefined)}`, response.status);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    if (code === 'RevisionNotFound') throw new DownloadError(`${options.repo}: revision "${revision}" not found (HTTP 404 from ${url}); name a branch, tag or commit of the repository`, 404);
    throw new DownloadError(`${options.repo}: repository not found at ${endpoint} (HTTP 404 from ${url}); check the name (org/name) and HF_ENDPOINT`, 404);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(`${options.repo}: HTTP ${response.status} ${response.statusText} from ${url}`, response.status);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (e) {
    throw new DownloadError(`${url}: the answer is not valid JSON (${(e as Error).message}); is ${endpoint} a Hugging Face hub?`);
  }
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
  return { body, ...(link && { link: new URL(link, url).toString() }) };
}
