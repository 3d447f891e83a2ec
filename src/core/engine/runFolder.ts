/**
 * A run folder `<system dir>/.agentchord/runs/<runId>/` (layout in ./types.ts): where a GBC run records its calls,
 * connection weights, outcomes, graphs and proposals.
 *
 * All writes are synchronous on purpose: each JSONL record is one complete line handed to the OS in a single write
 * and flushed, and whole files (run.json, proposals, checkpoint) go through a temp file + rename. A cancelled run
 * therefore never leaves half a line or half a file (a cancellation cannot interrupt a synchronous write), and two
 * samples finishing together never interleave their lines. A hard crash can at worst cut the last line short, which
 * the readers skip (as readJsonl in ../util/atomicWrite.ts does).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  RUN_FILES,
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
import { errorNamingFile } from '../util/atomicWrite';

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

  /** Creates `<workspaceDir>/.agentchord/runs/<new id>/` with its run.json. */
  static create(workspaceDir: string, manifest: Omit<RunManifest, 'id' | 'createdAt'>): RunFolder {
    const now = new Date();
    const id = newRunId(now);
    const dir = join(runsDirFor(workspaceDir), id);
    mkdirSync(dir, { recursive: true });
    const full: RunManifest = { ...manifest, id, createdAt: now.toISOString() } as RunManifest;
    const folder = new RunFolder(dir, full);
    writeJsonSync(join(dir, RUN_FILES.manifest), full);
    return folder;
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
    writeJsonSync(join(this.dir, RUN_FILES.manifest), next);
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
 * Synchronous twin of writeJsonAtomic (../util/atomicWrite.ts, async only): temp file in the same folder, flushed,
 * renamed over the target, so readers see the old file or the new one, never a mix.
 */
export function writeJsonSync(path: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`cannot write ${path}: the value is not representable as JSON`);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx');
    try {
      writeAll(fd, Buffer.from(text + '\n', 'utf8'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw errorNamingFile(path, err);
  }
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
