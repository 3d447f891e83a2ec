/**
 * `agentchord gpu install`: the execution-provider binaries onnxruntime-node does not bundle (on Linux x64 the CUDA
 * provider: libonnxruntime_providers_cuda.so, _shared.so, _tensorrt.so), fetched from the NuGet package its own
 * installer names for the installed version (script/install-metadata.js), into our cache:
 *
 *   <cache>/gpu/onnxruntime-<version>/<platform>-<manifest>/   e.g. ~/.cache/agentchord/gpu/onnxruntime-1.30.0/linux-x64-cuda12/
 *
 * (<cache> is $AGENTCHORD_CACHE or ~/.cache/agentchord). Nothing is half-written: the package is downloaded to a
 * .partial file while its SHA-512 is computed, checked against the feed's packageHash, the files are extracted into a
 * temporary folder that is renamed into place, and the .partial file is removed whatever happens.
 *
 * ORT loads provider libraries from the folder of libonnxruntime.so (its runtime path, found with dladdr), never from
 * LD_LIBRARY_PATH, so the files must appear in onnxruntime-node's bin/napi-v*\/<platform>/ folder, which is where its
 * installer copies them. We put symbolic links there pointing into the cache rather than copies: the libraries are
 * hundreds of MB, a link is replaced atomically (rename), and after `npm ci` wipes node_modules a second
 * `gpu install` re-links from the cache without downloading again. A regular file already there (put by
 * onnxruntime-node's own installer) is left alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { defaultCacheDir } from '../graphCache';
import { FeedError, resolveNugetPackage, type ResolvedPackage } from './nuget';
import { loadInstallMetadata, locateOrt, type ManifestFile, type OrtPackage } from './ortPackage';

/** A mirror of the NuGet feed: the URL of its v3 service index (index.json), used instead of the metadata's feeds. */
export const GPU_FEED_ENV = 'AGENTCHORD_GPU_FEED';

/** The install did not complete; nothing was left behind. The message names the package, version, URL or file. */
export class GpuInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuInstallError';
  }
}

/** The install was cancelled (signal); nothing was left behind. */
export class GpuInstallCancelled extends Error {
  constructor() {
    super('gpu install cancelled: nothing was installed');
    this.name = 'GpuInstallCancelled';
  }
}

export interface GpuInstallProgress {
  phase: 'resolve' | 'download' | 'verify' | 'extract' | 'link';
  message: string;
  receivedBytes?: number;
  totalBytes?: number;
}

export interface GpuInstallOptions {
  /** onnxruntime-node's folder; default: the one this process loads. */
  ortDir?: string;
  /** Default $AGENTCHORD_CACHE or ~/.cache/agentchord. */
  cacheDir?: string;
  /** NuGet v3 service index URL to use instead of the metadata's feeds (default: $AGENTCHORD_GPU_FEED). */
  feed?: string;
  /** Install even when the feed publishes no packageHash (only HTTPS then vouches for the file). */
  allowUnverified?: boolean;
  /** Link the files into onnxruntime-node's binary folder (default true). */
  link?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: GpuInstallProgress) => void;
  /** Warnings (e.g. an unverified package). */
  warn?: (message: string) => void;
}

/** What install.json in an installed folder records. */
export interface InstalledRecord {
  ortVersion: string;
  platform: string;
  manifest: string;
  package: string;
  packageVersion: string;
  url: string;
  /** base64 SHA-512 of the .nupkg that was checked, or null when the feed published none. */
  sha512: string | null;
  /** file name → hex SHA-256 of the extracted file. */
  files: Record<string, string>;
}

export interface GpuInstallResult {
  ortVersion: string;
  manifests: {
    manifest: string;
    dir: string;
    /** false when the cache already had it (nothing downloaded). */
    downloaded: boolean;
    record: InstalledRecord;
    /** Links made in (or already pointing from) the binary folder. */
    linked: string[];
    /** Files of the binary folder that are regular files, left as they were. */
    kept: string[];
  }[];
  bindingDir: string;
}

const RECORD = 'install.json';

export function gpuCacheDir(cacheDir = defaultCacheDir()): string {
  return join(cacheDir, 'gpu');
}

/** The cache folder of one manifest (e.g. cuda12) of one ORT version and platform. */
export function gpuInstallDir(ort: OrtPackage, manifest: string, cacheDir?: string): string {
  return join(gpuCacheDir(cacheDir), `onnxruntime-${ort.version}`, `${ort.platform.replace('/', '-')}-${manifest}`);
}

/** The record of a complete install in the cache, or undefined (absent, or a file missing). */
export function readInstalled(dir: string): InstalledRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as InstalledRecord;
    return Object.keys(record.files).every((f) => existsSync(join(dir, f))) ? record : undefined;
  } catch {
    return undefined;
  }
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new GpuInstallCancelled();
}

export async function installGpuRuntime(options: GpuInstallOptions = {}): Promise<GpuInstallResult> {
  const { signal, onProgress = () => {}, warn = () => {} } = options;
  const ort = locateOrt(options.ortDir);
  const metadata = loadInstallMetadata(ort);
  if (!metadata.manifestNames.length) {
    throw new GpuInstallError(`onnxruntime-node ${ort.version} needs nothing more on ${ort.platform}: its npm package already bundles every provider it has there`);
  }
  const feed = options.feed ?? (process.env[GPU_FEED_ENV] || undefined);
  if (feed !== undefined) {
    try {
      new URL(feed);
    } catch {
      throw new GpuInstallError(`${GPU_FEED_ENV} / --feed: not a URL: '${feed}' (expected a NuGet v3 service index, e.g. https://api.nuget.org/v3/index.json)`);
    }
  }
  const result: GpuInstallResult = { ortVersion: ort.version, manifests: [], bindingDir: ort.bindingDir };
  for (const manifest of metadata.manifestNames) {
    const files = metadata.manifests[manifest];
    const dir = gpuInstallDir(ort, manifest, options.cacheDir);
    let record = readInstalled(dir);
    const downloaded = !record;
    if (!record) {
      const byPackage = new Map<string, ManifestFile[]>();
      for (const f of files) byPackage.set(f.packageKey, [...(byPackage.get(f.packageKey) ?? []), f]);
      if (byPackage.size !== 1) throw new GpuInstallError(`onnxruntime-node ${ort.version}: manifest ${manifest} spans ${byPackage.size} packages; AgentChord handles one`);
      const [packageKey, packageFiles] = [...byPackage][0];
      const source = metadata.packages[packageKey];
      checkAbort(signal);
      onProgress({ phase: 'resolve', message: `resolving ${source.name} for onnxruntime-node ${ort.version}` });
      const pkg = await resolveCandidates(source, metadata.feeds, feed, signal);
      if (!pkg.sha512) {
        if (!options.allowUnverified) {
          throw new GpuInstallError(`${pkg.name} ${pkg.version}: the feed publishes no SHA-512 for it (${pkg.hashSource}); nothing installed (--allow-unverified installs it on HTTPS alone)`);
        }
        warn(`${pkg.name} ${pkg.version}: not verified: ${pkg.hashSource}`);
      }
      record = await fetchAndExtract(ort, manifest, pkg, packageFiles, dir, options.cacheDir, signal, onProgress);
    }
    const { linked, kept } = options.link === false ? { linked: [], kept: [] } : linkInto(ort, dir, Object.keys(record.files), onProgress);
    result.manifests.push({ manifest, dir, downloaded, record, linked, kept });
  }
  return result;
}

async function resolveCandidates(
  source: { name: string; versions: { feed: string; version: string }[] },
  feeds: Record<string, { type: string; index: string }>,
  override: string | undefined,
  signal: AbortSignal | undefined,
): Promise<ResolvedPackage> {
  const tried: string[] = [];
  for (const { feed, version } of source.versions) {
    const f = feeds[feed];
    if (!f) throw new GpuInstallError(`onnxruntime-node's install metadata names an unknown feed '${feed}'`);
    if (f.type !== 'nuget') throw new GpuInstallError(`onnxruntime-node's install metadata: feed '${feed}' has type '${f.type}'; AgentChord knows 'nuget'`);
    const index = override ?? f.index;
    try {
      const pkg = await resolveNugetPackage(index, source.name, version, signal);
      if (pkg) return pkg;
    } catch (err) {
      if (signal?.aborted) throw new GpuInstallCancelled();
      if (err instanceof FeedError) throw new GpuInstallError(`${source.name} ${version}: ${err.message}`);
      throw err;
    }
    tried.push(`${version} on ${index}`);
  }
  throw new GpuInstallError(`package ${source.name} not found: no version ${tried.join(', nor ')} (HTTP 404 or not listed); with a mirror, check that it carries this exact version`);
}

async function fetchAndExtract(
  ort: OrtPackage,
  manifest: string,
  pkg: ResolvedPackage,
  files: ManifestFile[],
  dir: string,
  cacheDir: string | undefined,
  signal: AbortSignal | undefined,
  onProgress: (p: GpuInstallProgress) => void,
): Promise<InstalledRecord> {
  const parent = join(dir, '..');
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const partial = join(gpuCacheDir(cacheDir), `${pkg.name.toLowerCase()}.${pkg.version.toLowerCase()}.nupkg.${tag}.partial`);
  const temp = join(parent, `.${manifest}.${tag}.tmp`);
  try {
    const actual = await download(pkg, partial, signal, onProgress);
    checkAbort(signal);
    onProgress({ phase: 'verify', message: `verifying ${pkg.name} ${pkg.version} (SHA-512)` });
    if (pkg.sha512 !== undefined && actual !== pkg.sha512) {
      throw new GpuInstallError(`${pkg.name} ${pkg.version}: SHA-512 of ${pkg.url} does not match the feed's packageHash (expected ${pkg.sha512}, got ${actual}); nothing installed`);
    }
    onProgress({ phase: 'extract', message: `extracting ${files.map((f) => f.file).join(', ')}` });
    const wanted = new Set(files.map((f) => f.pathInPackage));
    let entries: Record<string, Uint8Array>;
    try {
      // In memory, as onnxruntime-node's installer does with adm-zip; fflate inflates only the entries we name.
      entries = unzipSync(readFileSync(partial), { filter: (f) => wanted.has(f.name) });
    } catch (err) {
      throw new GpuInstallError(`${pkg.name} ${pkg.version}: ${pkg.url} is not a readable package (zip): ${(err as Error).message}`);
    }
    mkdirSync(temp, { recursive: true });
    const hashes: Record<string, string> = {};
    for (const f of files) {
      const data = entries[f.pathInPackage];
      if (!data) throw new GpuInstallError(`${pkg.name} ${pkg.version}: ${f.pathInPackage} is not in the package (named by onnxruntime-node's install metadata)`);
      writeFileSync(join(temp, f.file), data, { mode: 0o755 });
      hashes[f.file] = createHash('sha256').update(data).digest('hex');
    }
    const record: InstalledRecord = {
      ortVersion: ort.version,
      platform: ort.platform,
      manifest,
      package: pkg.name,
      packageVersion: pkg.version,
      url: pkg.url,
      sha512: pkg.sha512 ?? null,
      files: hashes,
    };
    writeFileSync(join(temp, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    checkAbort(signal);
    // Replace an incomplete folder left by an older AgentChord; keep a complete one another process just made.
    if (existsSync(dir)) {
      const other = readInstalled(dir);
      if (other) return other;
      rmSync(dir, { recursive: true, force: true });
    }
    renameSync(temp, dir);
    return record;
  } finally {
    rmSync(partial, { force: true });
    rmSync(temp, { recursive: true, force: true });
    // A failed first install leaves no empty folders either.
    for (const empty of [parent, gpuCacheDir(cacheDir)]) {
      try {
        rmdirSync(empty);
      } catch {
        // not empty (or gone): keep it
      }
    }
  }
}

async function download(pkg: ResolvedPackage, dest: string, signal: AbortSignal | undefined, onProgress: (p: GpuInstallProgress) => void): Promise<string> {
  const what = `${pkg.name} ${pkg.version}`;
  let res: Response;
  try {
    res = await fetch(pkg.url, { signal });
  } catch (err) {
    if (signal?.aborted) throw new GpuInstallCancelled();
    throw new GpuInstallError(`${what}: cannot download ${pkg.url}: ${(err as Error).message}`);
  }
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new GpuInstallError(`${what}: HTTP ${res.status} for ${pkg.url}${res.status === 404 ? ' (the feed lists the version but has no package file)' : ''}`);
  }
  const total = Number(res.headers.get('content-length')) || undefined;
  const hash = createHash('sha512');
  const file = await open(dest, 'w');
  let received = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await file.write(chunk);
      received += chunk.length;
      onProgress({ phase: 'download', message: `downloading ${what}`, receivedBytes: received, totalBytes: total });
    }
  } catch (err) {
    if (signal?.aborted) throw new GpuInstallCancelled();
    throw new GpuInstallError(`${what}: download of ${pkg.url} failed: ${(err as Error).message}`);
  } finally {
    await file.close();
  }
  checkAbort(signal);
  if (total !== undefined && received !== total) throw new GpuInstallError(`${what}: ${pkg.url} ended after ${received} of ${total} bytes`);
  return hash.digest('base64');
}

/**
 * Symbolic links binary-folder/<file> → cache/<file>, each made under a temporary name and renamed over the old one.
 * Regular files (from onnxruntime-node's own installer) are kept.
 */
function linkInto(ort: OrtPackage, dir: string, files: string[], onProgress: (p: GpuInstallProgress) => void): { linked: string[]; kept: string[] } {
  onProgress({ phase: 'link', message: `linking into ${ort.bindingDir}` });
  const linked: string[] = [];
  const kept: string[] = [];
  for (const file of files) {
    const at = join(ort.bindingDir, file);
    let stat;
    try {
      stat = lstatSync(at);
    } catch {
      stat = undefined;
    }
    if (stat && !stat.isSymbolicLink()) {
      kept.push(file);
      continue;
    }
    const temp = join(ort.bindingDir, `.${file}.${process.pid}-${randomBytes(4).toString('hex')}.link`);
    try {
      symlinkSync(join(dir, file), temp);
      renameSync(temp, at);
    } catch (err) {
      rmSync(temp, { force: true });
      throw new GpuInstallError(
        `the files are in ${dir}, but linking them into ${ort.bindingDir} failed: ${(err as Error).message} (onnxruntime-node loads providers only from that folder; run again with write access to it)`,
      );
    }
    linked.push(file);
  }
  return { linked, kept };
}
