/**
 * A run folder `<system dir>/.agentchord/runs/<runId>/` (layout in ./types.ts): where a GBC run records its calls,
 * connection weights, outcomes, graphs and proposals.
 *
 * All writes are synchronous on purpose: each JSONL record is one complete line handed to the OS in a single write
 * and flushed, and whole files (run.json, proposals, checkpoint) go through a temp file + rename. A cancelled run
 * therefore never leaves half a line or half a file (a cancellation cannot interrupt a synchronous write), and two
 * samples finishing together never interleave their lines. A hard crash can at worst cut the last line short, which
 * the readers skip (as readJsonl in ../util/atomicWrite.ts does).
 *
 * One writer at a time: a process writing a run holds `writer.lock` (its pid, host and start time; `lock()`). A lock
 * whose process is gone (a crash, SIGKILL) is stale and taken over; a live one makes `lock()` fail with a message
 * naming the process. If even run.json's temp file cannot be written (a full disk), the manifest is overwritten in
 * its own blocks instead (overwriteInPlace), so a run that ends on ENOSPC still says failed.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  RUN_FILES,
  RUN_RECORD_FILES,
  type AgentCall,
  type AttributionGraph,
  type CallAttribution,
  type Checkpoint,
  type Proposal,
  type RunManifest,
  type SampleOutcome,
  type Trajectory,
} from './types';
import type { SystemConfig } from '../system/types';
import { errorNamingFile, writeFileAtomicSync } from '../../shared/atomicWrite';

/**
 * The manifest's attribution settings for a run of `system`. `attributed` false: weights were not computed (no
 * attribution model, or turned off), so no model is named and nothing is a surrogate.
 */
export function manifestAttribution(system: SystemConfig, attributed = system.attribution.model !== undefined): RunManifest['attribution'] {
  const model = attributed ? system.attribution.model : undefined;
  return {
    ...(model !== undefined ? { model } : {}),
    strategy: system.attribution.strategy,
    topK: system.attribution.topK,
    // Agents on another model than the attribution model are explained by it as a teacher-forced surrogate.
    surrogate: model !== undefined && system.agents.some((a) => a.model !== model),
  };
}

/** `<workspace>/.agentchord/runs`. */
export function runsDirFor(workspaceDir: string): string {
  return join(workspaceDir, '.agentchord', 'runs');
}

/** Sortable and unique: `20261126-031502-123-a1b2c3`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export interface RunFolderContents {
  manifest: RunManifest;
  calls: AgentCall[];
  attribution: CallAttribution[];
  samples: SampleOutcome[];
  graphs: AttributionGraph[];
  trajectories: Trajectory[];
  /** Sorted by step. */
  proposals: Proposal[];
  checkpoint?: Checkpoint;
}

export class RunFolder {
  private manifest: RunManifest;

  private constructor(
    readonly dir: string,
    manifest: RunManifest,
  ) {
    this.manifest = manifest;
  }

  get id(): string {
    return this.manifest.id;
  }

  /** Creates `<workspaceDir>/.agentchord/runs/<new id>/` with its run.json; `lock`: and holds its writer lock. */
  static create(workspaceDir: string, manifest: Omit<RunManifest, 'id' | 'createdAt'>, options: { lock?: boolean } = {}): RunFolder {
    const now = new Date();
    const id = newRunId(now);
    const dir = join(runsDirFor(workspaceDir), id);
    mkdirSync(dir, { recursive: true });
    const full: RunManifest = { ...manifest, id, createdAt: now.toISOString() } as RunManifest;
    const folder = new RunFolder(dir, full);
    if (options.lock) folder.lock();
    writeJsonSync(join(dir, RUN_FILES.manifest), full, MANIFEST_RESERVED_BYTES);
    return folder;
  }

  /**
   * Takes the writer lock of this run (RunLockedError when another live process holds it). A stale lock (its
   * process is gone, or the file is unreadable) is taken over. Taking over is not atomic against a second process
   * taking over the same stale lock at the same instant.
   */
  lock(): void {
    const file = join(this.dir, RUN_FILES.lock);
    if (heldLocks.has(this.dir)) throw new RunLockedError(this.dir, file, readLock(file) ?? ownLock(), 'another writer in this process');
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(file, JSON.stringify(ownLock()) + '\n', { flag: 'wx' });
        holdLock(this.dir, file);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) {
          throw new Error(`${file}: cannot take the writer lock of the run (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
      const holder = readLock(file);
      if (holder && lockIsLive(holder)) throw new RunLockedError(this.dir, file, holder);
      rmSync(file, { force: true }); // stale: its writer is gone
    }
  }

  /** Gives the writer lock back (a no-op when this process does not hold it). */
  unlock(): void {
    const file = heldLocks.get(this.dir);
    if (!file) return;
    heldLocks.delete(this.dir);
    if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
  }

  /** Byte size of each JSONL file now (0 when missing): what a checkpoint records (Checkpoint.files). */
  recordSizes(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const name of RUN_RECORD_FILES) {
      const file = join(this.dir, name);
      sizes[name] = existsSync(file) ? statSync(file).size : 0;
    }
    return sizes;
  }

  /** Cuts each JSONL file back to `sizes` (what was appended after them goes); files already shorter are left. */
  truncateRecords(sizes: Record<string, number>): void {
    for (const name of RUN_RECORD_FILES) {
      const file = join(this.dir, name);
      const size = sizes[name];
      if (typeof size !== 'number' || !existsSync(file) || statSync(file).size <= size) continue;
      const fd = openSync(file, 'r+');
      try {
        ftruncateSync(fd, size);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  /**
   * Puts the records appended to calls.jsonl and attribution.jsonl after `sizes` (recordSizes() when a forward run
   * began) in a deterministic order: a stable sort by `rank` (the sample's position in the run; unranked last). Samples
   * run concurrently and their calls finish in whatever order the models answer (one backend or several), so the
   * files are rewritten once the run is done; each line keeps its bytes, and each file is replaced atomically.
   */
  orderRecordsSince(sizes: Record<string, number>, rank: (file: 'calls' | 'attribution', record: { sampleId?: unknown; callId?: unknown }) => number | undefined): void {
    for (const key of ['calls', 'attribution'] as const) {
      const file = join(this.dir, RUN_FILES[key]);
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      const from = Math.min(sizes[RUN_FILES[key]] ?? 0, bytes.length);
      const lines = bytes.subarray(from).toString('utf8').split('\n').filter((l) => l.trim() !== '');
      const ranked = lines.map((line, i) => {
        let r: number | undefined;
        try {
          r = rank(key, JSON.parse(line) as { sampleId?: unknown; callId?: unknown });
        } catch {
          r = undefined; // a cut-short line (a crash) stays, last
        }
        return { line, i, r: r ?? Number.POSITIVE_INFINITY };
      });
      const sorted = [...ranked].sort((x, y) => x.r - y.r || x.i - y.i);
      if (sorted.every((x, k) => x.i === k)) continue;
      const text = Buffer.concat([bytes.subarray(0, from), Buffer.from(sorted.map((x) => x.line + '\n').join(''), 'utf8')]);
      const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(temp, text, { flag: 'wx' });
      renameSync(temp, file);
    }
  }

  /**
   * Drops the records whose sample id says they belong to optimization step `step` or later (`s<n>:...`, as the
   * loop names samples): a resume from a checkpoint without `files`. Each file is rewritten atomically.
   */
  dropRecordsFromStep(step: number): void {
    const stepOf = (id: unknown) => {
      const m = typeof id === 'string' ? /^s(\d+):/.exec(id) : null;
      return m ? Number(m[1]) : -1;
    };
    for (const name of RUN_RECORD_FILES) {
      const file = join(this.dir, name);
      const records = readJsonlSync<{ sampleId?: unknown; callId?: unknown }>(file);
      const kept = records.filter((r) => stepOf(r.sampleId ?? r.callId) < step);
      if (kept.length === records.length) continue;
      const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(temp, kept.map((r) => JSON.stringify(r) + '\n').join(''), { flag: 'wx' });
      renameSync(temp, file);
    }
  }

  /** Opens an existing run folder; errors name the folder or file at fault. */
  static open(runDir: string): RunFolder {
    const file = join(runDir, RUN_FILES.manifest);
    if (!existsSync(file)) throw new Error(`${runDir}: not a run folder (no ${RUN_FILES.manifest})`);
    let manifest: RunManifest;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof manifest?.id !== 'string') throw new Error(`${file}: field "id" is missing`);
    return new RunFolder(runDir, manifest);
  }

  /** The manifest as last written. */
  get current(): RunManifest {
    return this.manifest;
  }

  appendCall(c: AgentCall): void {
    this.append(RUN_FILES.calls, [c]);
  }

  appendAttribution(a: CallAttribution): void {
    this.append(RUN_FILES.attribution, [a]);
  }

  appendSample(s: SampleOutcome): void {
    this.append(RUN_FILES.samples, [s]);
  }

  appendGraph(g: AttributionGraph): void {
    this.append(RUN_FILES.graphs, [g]);
  }

  appendTrajectories(t: Trajectory[]): void {
    if (t.length) this.append(RUN_FILES.trajectories, t);
  }

  /** Writes proposals/step-<n>.json and returns its path. */
  writeProposal(p: Proposal): string {
    const dir = join(this.dir, RUN_FILES.proposalsDir);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `step-${p.step}.json`);
    writeJsonSync(file, p);
    return file;
  }

  writeCheckpoint(c: Checkpoint): void {
    writeJsonSync(join(this.dir, RUN_FILES.checkpoint), c);
  }

  updateManifest(patch: Partial<RunManifest>): void {
    const next = { ...this.manifest, ...patch, id: this.manifest.id, createdAt: this.manifest.createdAt };
    const file = join(this.dir, RUN_FILES.manifest);
    try {
      writeJsonSync(file, next, MANIFEST_RESERVED_BYTES);
    } catch (err) {
      // A full disk cannot take the temp file; the status must still reach run.json.
      if (!overwriteInPlace(file, next)) throw err;
    }
    this.manifest = next;
  }

  read(): RunFolderContents {
    const manifestFile = join(this.dir, RUN_FILES.manifest);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as RunManifest;
    const proposalsDir = join(this.dir, RUN_FILES.proposalsDir);
    const proposals = existsSync(proposalsDir)
      ? readdirSync(proposalsDir)
          .filter((n) => /^step-\d+\.json$/.test(n))
          .map((n) => readProposal(join(proposalsDir, n)))
          .sort((a, b) => a.step - b.step)
      : [];
    const checkpointFile = join(this.dir, RUN_FILES.checkpoint);
    return {
      manifest,
      calls: readJsonlSync<AgentCall>(join(this.dir, RUN_FILES.calls)),
      attribution: readJsonlSync<CallAttribution>(join(this.dir, RUN_FILES.attribution)),
      samples: readJsonlSync<SampleOutcome>(join(this.dir, RUN_FILES.samples)),
      graphs: readJsonlSync<AttributionGraph>(join(this.dir, RUN_FILES.graphs)),
      trajectories: readJsonlSync<Trajectory>(join(this.dir, RUN_FILES.trajectories)),
      proposals,
      ...(existsSync(checkpointFile) ? { checkpoint: JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint } : {}),
    };
  }

  /** Serialises every value first (a bad one appends nothing), then writes all lines in one flushed write. */
  private append(name: string, values: unknown[]): void {
    const file = join(this.dir, name);
    const text = values
      .map((v, i) => {
        const line = JSON.stringify(v);
        if (line === undefined) throw new TypeError(`cannot append to ${file}: value ${i} is not representable as JSON`);
        return line + '\n';
      })
      .join('');
    try {
      const fd = openSync(file, 'a');
      try {
        writeAll(fd, Buffer.from(text, 'utf8'));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw errorNamingFile(file, err);
    }
  }
}

function writeAll(fd: number, data: Buffer): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written);
}

/**
 * writeJsonAtomic for synchronous callers (src/shared/atomicWrite.ts): readers see the old file or the new one, never
 * a mix. `minBytes`: white space pads the file to at least that size (run.json keeps room to be rewritten in place on
 * a full disk, overwriteInPlace).
 */
export function writeJsonSync(path: string, value: unknown, minBytes = 0): void {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`cannot write ${path}: the value is not representable as JSON`);
  const bytes = Buffer.from(text + '\n', 'utf8');
  writeFileAtomicSync(path, bytes.length >= minBytes ? bytes : Buffer.concat([bytes, Buffer.alloc(minBytes - bytes.length, ' ')]));
}

/** A proposal file, checked for the fields readers rely on: a damaged one is an error naming it. */
function readProposal(file: string): Proposal {
  let value: unknown;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: damaged proposal file, not valid JSON (${(err as Error).message})`);
  }
  const p = value as Partial<Proposal> | null;
  const bad =
    typeof p !== 'object' || p === null || Array.isArray(p)
      ? 'not a JSON object'
      : !Number.isInteger(p.step)
        ? 'field "step" is not an integer'
        : !Array.isArray(p.changes)
          ? 'field "changes" is not a list'
          : p.changes.some((c) => !isChange(c))
            ? 'a change lacks "agent", "file", "before" or "after" as strings, or "warnings" as a list'
            : undefined;
  if (bad) throw new Error(`${file}: damaged proposal file (${bad})`);
  return p as Proposal;
}

function isChange(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const { agent, file, before, after, warnings } = c as Record<string, unknown>;
  return [agent, file, before, after].every((v) => typeof v === 'string') && Array.isArray(warnings);
}

/**
 * The last resort for run.json when the atomic write failed: the manifest is written over the file's own bytes,
 * padded with spaces to its old size (JSON allows trailing white space), so the file does not grow and needs no new
 * disk block. What does not fit goes first: indentation, the per-agent and per-step usage, then the middle of the
 * error message. False when even that does not fit or the write fails. Not atomic: only for when nothing else works.
 */
function overwriteInPlace(path: string, manifest: RunManifest): boolean {
  try {
    const size = statSync(path).size;
    const { usageByAgent: _agents, usageByStep: _steps, ...lean } = manifest;
    let text = [JSON.stringify(manifest, null, 2), JSON.stringify(manifest), JSON.stringify(lean)].find((t) => Buffer.byteLength(t) < size);
    if (text === undefined && lean.error) {
      const room = size - Buffer.byteLength(JSON.stringify({ ...lean, error: '' })) - 8;
      // Its start says where, its end what happened (e.g. ENOSPC): the middle goes.
      const head = Math.floor(room / 3);
      const shortened = room > 0 ? JSON.stringify({ ...lean, error: lean.error.slice(0, head) + '...' + lean.error.slice(-(room - head)) }) : undefined;
      if (shortened !== undefined && Buffer.byteLength(shortened) < size) text = shortened;
    }
    if (text === undefined) return false;
    const bytes = Buffer.alloc(size, ' ');
    bytes.write(text, 0, 'utf8');
    bytes[size - 1] = 0x0a;
    const fd = openSync(path, 'r+');
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
}

interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/** Another process holds the run: the message says which, and what to do. */
export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly lockFile: string,
    readonly holder: LockHolder,
    who = `process ${holder.pid}${holder.host === hostname() ? '' : ` on host ${holder.host}`}`,
  ) {
    super(
      `${dir}: this run is being written by ${who} (since ${holder.startedAt}); a run has one writer at a time. ` +
        `Wait for it to finish or stop it; if no such process is running any more, delete ${lockFile}`,
    );
    this.name = 'RunLockedError';
  }
}

/**
 * run.json is written at least this big (one disk block; padding), so that on a full disk its final status, with an
 * error message of a few KB, still fits in place.
 */
const MANIFEST_RESERVED_BYTES = 4096;

/** Run folder -> lock file, for the locks this process holds (released at exit, whatever ends the process). */
const heldLocks = new Map<string, string>();
let releaseAtExit = false;

function holdLock(dir: string, file: string): void {
  heldLocks.set(dir, file);
  if (releaseAtExit) return;
  releaseAtExit = true;
  // A process that ends while it still writes a run (an uncaught exception, process.exit) marks it failed: run.json
  // must not say running for a run nobody writes. Only SIGKILL and power loss escape this (the lock is then stale).
  process.once('exit', (code) => {
    for (const [runDir, lockFile] of heldLocks) {
      try {
        const folder = RunFolder.open(runDir);
        if (folder.current.status === 'running') {
          folder.updateManifest({ status: 'failed', error: `the process writing this run (pid ${process.pid}) ended before the run did (exit code ${code})` });
        }
      } catch {
        // exiting: nothing more to do
      }
      try {
        if (readLock(lockFile)?.pid === process.pid) rmSync(lockFile, { force: true });
      } catch {
        // exiting: nothing more to do
      }
    }
  });
}

/** Run folders whose writer lock this process holds (the CLI marks them failed if it ends with a run unfinished). */
export function heldRunFolders(): string[] {
  return [...heldLocks.keys()];
}

const ownLock = (): LockHolder => ({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() });

/** The holder written in a lock file; undefined when it is missing or unreadable (a crash while writing it). */
function readLock(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid !== 'number' || typeof holder.host !== 'string') return undefined;
    return { pid: holder.pid, host: holder.host, startedAt: typeof holder.startedAt === 'string' ? holder.startedAt : 'an unknown time' };
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock's writer may still be running. Another host's process cannot be checked, so it counts as live.
 * Our own pid without the lock in heldLocks is a reused pid (a container restarted): that writer is gone.
 */
function lockIsLive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Reads a JSONL file (missing = empty); a last line cut short by a crash is skipped, a bad line elsewhere names file:line. */
export function readJsonlSync<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      out.push(JSON.parse(lines[i]) as T);
    } catch (err) {
      if (lines.slice(i + 1).every((l) => l.trim() === '')) break;
      throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  }
  return out;
}
