/**
 * On-disk cache of compiled ONNX graphs, keyed by content: building a graph for a model takes seconds, reading it
 * back takes milliseconds. The key is a sha256 of a stable JSON of everything the bytes depend on (model identity,
 * dtype, device, graph kind, builder version); callers pass those as keyParts.
 *
 * Layout: <cacheDir>/graphs/<key>.onnx and <key>.json (size and sha256 of the .onnx). An entry whose bytes do not
 * match its .json (truncated, overwritten, half-copied) is rebuilt.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import stableStringify from 'fast-json-stable-stringify';
import { writeFileAtomicSync } from '../../shared/atomicWrite';

interface EntryMeta {
  size: number;
  sha256: string;
}

/** $AGENTCHORD_CACHE, else ~/.cache/agentchord. */
export function defaultCacheDir(): string {
  return resolve(process.env.AGENTCHORD_CACHE || join(homedir(), '.cache', 'agentchord'));
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function graphCacheKey(keyParts: unknown[]): string {
  return sha256(stableStringify(keyParts));
}

function entryIsIntact(graphPath: string, metaPath: string): boolean {
  let meta: EntryMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as EntryMeta;
    if (statSync(graphPath).size !== meta.size) return false;
  } catch {
    return false;
  }
  return sha256(readFileSync(graphPath)) === meta.sha256;
}

/**
 * Returns the path of the cached graph for keyParts, building and storing it first on a miss or a damaged entry.
 * The .onnx is written before its .json, so a crash in between leaves an entry that is simply rebuilt next time.
 */
export function cachedGraph(cacheDir: string, keyParts: unknown[], build: () => Uint8Array): string {
  const dir = join(cacheDir, 'graphs');
  const key = graphCacheKey(keyParts);
  const graphPath = join(dir, `${key}.onnx`);
  const metaPath = join(dir, `${key}.json`);
  if (entryIsIntact(graphPath, metaPath)) return graphPath;
  const bytes = build();
  mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(graphPath, bytes);
  const meta: EntryMeta = { size: bytes.length, sha256: sha256(bytes) };
  writeFileAtomicSync(metaPath, JSON.stringify(meta));
  return graphPath;
}

/**
 * What identifies a model folder's content for the cache without hashing gigabytes of weights: the hash of
 * config.json and of each safetensors file's header (its tensor index: names, dtypes, shapes, offsets), plus sizes.
 */
export function modelDirIdentity(modelDir: string): { config: string; tensors: string } {
  const config = sha256(readFileSync(join(modelDir, 'config.json')));
  const tensorIndex = createHash('sha256');
  const files = readdirSync(modelDir)
    .filter((name) => name.endsWith('.safetensors'))
    .sort();
  for (const name of files) {
    const path = join(modelDir, name);
    const fd = openSync(path, 'r');
    try {
      // safetensors: 8-byte little-endian header length, then the JSON header.
      const lengthBytes = Buffer.alloc(8);
      readSyncFully(fd, lengthBytes, 0);
      const headerLength = Number(lengthBytes.readBigUInt64LE(0));
      const header = Buffer.alloc(Math.min(headerLength, 100 * 1024 * 1024));
      readSyncFully(fd, header, 8);
      tensorIndex.update(name).update('\0').update(String(statSync(path).size)).update('\0').update(header);
    } finally {
      closeSync(fd);
    }
  }
  return { config, tensors: tensorIndex.digest('hex') };
}

function readSyncFully(fd: number, buffer: Buffer, position: number): void {
  let read = 0;
  while (read < buffer.length) {
    const n = readSync(fd, buffer, read, buffer.length - read, position + read);
    if (n === 0) throw new Error('unexpected end of file while reading a safetensors header');
    read += n;
  }
}
