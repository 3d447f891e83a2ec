/**
 * `agentchord import`: trace files → a run folder like the ones `agentchord run` writes (calls, placeholder
 * attribution, unweighted graphs), marked as imported with each source file's SHA-256. The folder is written under
 * a temporary name beside its destination and renamed into place: it appears complete or not at all. With
 * `scaffold`, a workspace is written too (./scaffold.ts) and the run goes into its `.agentchord/runs`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { buildAttributionGraph } from '../engine/graph';
import { newRunId, runsDirFor, writeJsonSync } from '../engine/runFolder';
import { unavailableAttribution } from '../engine/attribution';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { RUN_FILES, type AgentCall, type CallAttribution, type ImportProvenance, type RunManifest } from '../engine/types';
import type { AttributionStrategy } from '../system/types';
import { readMapping, type TraceMapping } from './mapping';
import { attachLogs, readTraceFile, type LogEvent } from './readTrace';
import { reconstruct, type ImportedTrace, type Reconstruction } from './reconstruct';
import { planScaffold, writeScaffold, type ScaffoldPlan } from './scaffold';
import { TraceError, type TraceFormat, type TraceSpan } from './types';
import { readVerdicts } from './verdicts';

export interface ImportTraceOptions {
  /** Trace files of one export (log records with message content may be in a file of their own). */
  files: string[];
  format?: TraceFormat | 'auto';
  /** The run folder to create (must not exist); default `<scaffold or cwd>/.agentchord/runs/<new id>`. */
  out?: string;
  /** A mapping file (./mapping.ts): agent names, explicit hand-offs. */
  mapping?: string;
  /** Also write a workspace there (agentchord.yaml, one prompt file per agent, the traces as data). */
  scaffold?: string;
  /** The scaffold's attribution model folder (default: the embedded chord-retrieval, when given by the caller). */
  attributionModel?: string;
  /** A verdicts file (./verdicts.ts), written into the scaffold's data for its `recorded` loss. */
  verdicts?: string;
  /** The working folder relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
  signal?: AbortSignal;
}

export interface ImportTraceResult {
  runDir: string;
  runId: string;
  traces: Array<{ traceId: string; calls: number; agents: string[]; outputAgent: string }>;
  agents: string[];
  /** Edges of the agent graph: `from -> to` with how many blocks carried them. */
  edges: Array<{ from: string; to: string; blocks: number }>;
  warnings: string[];
  scaffold?: { dir: string; systemFile: string; files: string[] };
}

/** Placeholder weights until `blame` computes them. */
const NOT_YET = 'imported from a trace: run `agentchord blame <run>` to compute connection weights';

export async function importTrace(options: ImportTraceOptions): Promise<ImportTraceResult> {
  const cwd = options.cwd ?? process.cwd();
  if (options.files.length === 0) throw new TraceError('import: no trace file given');
  const files = options.files.map((f) => resolve(cwd, f));
  const mappingFile = options.mapping ? resolve(cwd, options.mapping) : undefined;
  const mapping: TraceMapping = mappingFile ? readMapping(mappingFile) : { agents: {}, links: [] };

  const spans: TraceSpan[] = [];
  const logs: LogEvent[] = [];
  const sources: ImportProvenance['sources'] = [];
  for (const file of files) {
    const read = await readTraceFile(file, { format: options.format, signal: options.signal });
    // Not push(...): an export can hold more spans than a call takes arguments.
    for (const span of read.spans) spans.push(span);
    for (const log of read.logs) logs.push(log);
    sources.push({ file, sha256: await sha256(file), bytes: statSync(file).size, format: read.format });
  }
  attachLogs(spans, logs);
  const built = reconstruct(spans, files.join(', '), mapping);
  options.signal?.throwIfAborted();

  const scaffoldDir = options.scaffold ? resolve(cwd, options.scaffold) : undefined;
  const plan: ScaffoldPlan | undefined = scaffoldDir
    ? planScaffold(scaffoldDir, built, {
        source: files[0],
        attributionModel: options.attributionModel ? resolve(cwd, options.attributionModel) : undefined,
        ...(options.verdicts ? { verdicts: readVerdicts(resolve(cwd, options.verdicts)) } : {}),
      })
    : undefined;
  const runId = newRunId();
  const runDir = options.out ? resolve(cwd, options.out) : join(runsDirFor(scaffoldDir ?? cwd), runId);
  if (existsSync(runDir) && (!statSync(runDir).isDirectory() || readdirSync(runDir).length > 0)) {
    throw new TraceError(`import: --out ${runDir} already exists; name a new folder (an import never writes over a run)`);
  }
  if (plan) writeScaffold(plan); // checks first that none of its files exist

  const calls = built.traces.flatMap((t) => t.calls.map((c) => ({ ...c, runId, promptFile: plan?.promptFileOf(c) ?? '' })));
  const strategy: AttributionStrategy = 'max_l1_norm';
  const settings = { attribution: { strategy } };
  const attributions: CallAttribution[] = calls.map((c) => unavailableAttribution(c, settings, NOT_YET));
  const graphs = built.traces.map((t) => buildAttributionGraph(t.sampleId, calls.filter((c) => c.sampleId === t.sampleId), attributions, { topK: 1, outputAgent: t.outputAgent }));
  const manifest: RunManifest = {
    id: runId,
    systemFile: plan?.systemFile ?? '',
    createdAt: new Date().toISOString(),
    kind: 'run',
    status: 'completed',
    dataset: { split: 'imported', file: files[0], samples: built.traces.length },
    attribution: { strategy, topK: 1, surrogate: false },
    usage: {
      promptTokens: sum(calls, (c) => c.usage.promptTokens),
      completionTokens: sum(calls, (c) => c.usage.completionTokens),
      costUsd: 0,
      calls: calls.length,
    },
    imported: {
      importedAt: new Date().toISOString(),
      sources,
      traces: built.traces.length,
      spans: spans.length,
      warnings: built.warnings,
      ...(mappingFile ? { mapping: mappingFile } : {}),
    },
  };

  // Staged beside the destination, renamed into place once complete.
  mkdirSync(dirname(runDir), { recursive: true });
  const staging = join(dirname(runDir), `.${basename(runDir)}.importing-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    const jsonl = (values: unknown[]) => values.map((v) => JSON.stringify(v) + '\n').join('');
    writeFileAtomicSync(join(staging, RUN_FILES.calls), jsonl(calls));
    writeFileAtomicSync(join(staging, RUN_FILES.attribution), jsonl(attributions));
    writeFileAtomicSync(join(staging, RUN_FILES.graphs), jsonl(graphs));
    writeJsonSync(join(staging, RUN_FILES.manifest), manifest, 4096);
    options.signal?.throwIfAborted();
    if (existsSync(runDir)) rmdirSync(runDir); // the empty folder checked above
    renameSync(staging, runDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return summarize(runDir, runId, built, plan);
}

function summarize(runDir: string, runId: string, built: Reconstruction, plan: ScaffoldPlan | undefined): ImportTraceResult {
  const edges = new Map<string, number>();
  for (const t of built.traces) {
    for (const c of t.calls) {
      for (const b of c.blocks) {
        if (b.source.kind !== 'agent') continue;
        const key = `${b.source.agent}\u0000${c.agent}`;
        edges.set(key, (edges.get(key) ?? 0) + 1);
      }
    }
  }
  return {
    runDir,
    runId,
    traces: built.traces.map((t: ImportedTrace) => ({ traceId: t.traceId, calls: t.calls.length, agents: [...new Set(t.calls.map((c) => c.agent))], outputAgent: t.outputAgent })),
    agents: [...built.prompts.keys()],
    edges: [...edges].map(([key, blocks]) => {
      const [from, to] = key.split('\u0000');
      return { from, to, blocks };
    }),
    warnings: built.warnings,
    ...(plan ? { scaffold: { dir: plan.dir, systemFile: plan.systemFile, files: plan.files.map((f: { path: string }) => f.path) } } : {}),
  };
}

const sum = (calls: AgentCall[], f: (c: AgentCall) => number) => calls.reduce((a, c) => a + f(c), 0);

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
