/**
 * Writing files so that a crash, a full disk or a bug never leaves a user's file half-written:
 * the data goes to a temp file in the same folder, is flushed to disk, then renamed over the target
 * (a rename within one file system is atomic). Used for traces, the response cache, proposals and the graph cache;
 * the bottom layer (src/shared), because the core and the backend both write files this way.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { lstat, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Create missing parent folders first. Default false. */
  createDirs?: boolean;
}

/**
 * An I/O error whose message names the file (Node's say e.g. "ENOSPC: no space left on device, write" and no path),
 * keeping its `code`, so "disk full" tells the user which file could not be written.
 */
export function errorNamingFile(path: string, err: unknown): Error {
  if (!(err instanceof Error)) return new Error(`${path}: ${String(err)}`);
  if (err.message.startsWith(`${path}: `)) return err;
  const named = new Error(`${path}: ${err.message}`, { cause: err }) as NodeJS.ErrnoException;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined) named.code = code;
  return named;
}

/**
 * Replaces `path` with `data` atomically: readers see the old content or the new, never a mix.
 * On failure the temp file is removed, the old file (if any) is untouched, and the error names `path`. The file keeps
 * its permissions. A symbolic link is written through: its target is replaced, the link stays a link.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  try {
    await writeResolved(await linkTarget(path), data, options);
  } catch (err) {
    throw errorNamingFile(path, err);
  }
}

/** Where a write to `path` must go: the final target of a symbolic link (a dangling link is refused), else `path`. */
async function linkTarget(path: string): Promise<string> {
  const link = await lstat(path).catch(() => undefined);
  if (!link?.isSymbolicLink()) return path;
  try {
    return await realpath(path);
  } catch {
    throw new Error('a symbolic link whose target does not exist; not replaced by a plain file');
  }
}

async function writeResolved(path: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  if (options.createDirs) await mkdir(dir, { recursive: true });
  const mode = await stat(path).then(
    (s) => s.mode & 0o7777,
    () => 0o666,
  );
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/**
 * Serialises first (a value JSON cannot represent throws before any file is touched), then writes atomically.
 * Ends with a newline, as editors and `git diff` prefer.
 */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions & { indent?: number } = {}): Promise<void> {
  const text = JSON.stringify(value, null, options.indent ?? 2);
  if (text === undefined) throw new TypeError(`cannot write ${path}: the value is not representable as JSON`);
  await writeFileAtomic(path, text + '\n', options);
}

/**
 * Appends one JSON line per value and flushes it to disk. All values are serialised before the file is opened, so a
 * bad value appends nothing. Lines are written in one call; a crash can at worst truncate the last line, which
 * `readJsonl` skips.
 */
export async function appendJsonl(path: string, values: unknown | unknown[], options: AtomicWriteOptions = {}): Promise<void> {
  const list = Array.isArray(values) ? values : [values];
  const lines = list.map((value, i) => {
    const line = JSON.stringify(value);
    if (line === undefined) throw new TypeError(`cannot append to ${path}: value ${i} is not representable as JSON`);
    return line + '\n';
  });
  try {
    if (options.createDirs) await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a');
    try {
      await handle.writeFile(lines.join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw errorNamingFile(path, err);
  }
}

/**
 * Reads a JSON-lines file. A final line cut short by a crash is skipped; a bad line anywhere else is an error
 * naming the file and line.
 */
export async function readJsonl<T = unknown>(path: string): Promise<T[]> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast) break;
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  }
  return out;
}

/** Makes the rename itself durable. Not every platform lets a folder be opened (Windows): best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The data is safely written; only the durability of the rename across a power cut is not guaranteed here.
  }
}

/** writeFileAtomic for synchronous callers (the graph cache, benchmark results): temp file + fsync + rename. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw errorNamingFile(path, err);
  }
}

