/**
 * `agentchord blame <run>`: connection weights on a local model for every call of a (typically imported) run, a
 * verdict per trace, and the backward pass (../engine/attributeRun.ts). Verdicts come from
 *   a loss file      `{traceId, loss, score}` per trace (./verdicts.ts): what the user's own evaluation said;
 *   references       `{traceId, reference}` per trace, compared with a builtin metric (contains, exact_match, ...);
 *   an LLM judge     the builtin judge's rubric on an OpenAI-compatible endpoint (references optional).
 * Trace ids in a verdict file that the run does not have are an error (a typo would otherwise blame nothing).
 */
import { basename } from 'node:path';
import type { LocalModels } from '../../protocol/localModel';
import { agentBlame, type AgentBlame } from '../engine/backward';
import { attributeRun, type AttributeRunResult, type Verdict } from '../engine/attributeRun';
import { RunFolder } from '../engine/runFolder';
import type { ChatProvider } from '../llm/types';
import { judgeWithLlm } from '../loss/judge';
import { runBuiltinMetric, type BuiltinMetric } from '../loss/builtins';
import type { AttributionStrategy } from '../system/types';
import { TraceError } from './types';
import { readTraceRecords, readVerdicts } from './verdicts';

export type VerdictSource =
  | { kind: 'loss-file'; file: string }
  | { kind: 'reference'; file: string; metric?: Exclude<BuiltinMetric, 'recorded'> }
  | { kind: 'judge'; provider: ChatProvider; criteria?: string; referenceFile?: string }
  | { kind: 'none' };

export interface BlameOptions {
  /** The attribution model folder; absent: weights stay unavailable (structure only). */
  modelPath?: string;
  /** What the run records as the attribution model (default: the folder's name; a pulled model: its repository id). */
  modelName?: string;
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  models?: LocalModels;
  strategy?: AttributionStrategy;
  topK?: number;
  verdicts: VerdictSource;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, callId: string) => void;
}

export interface BlameResult extends AttributeRunResult {
  blame: AgentBlame[];
}

export async function blameRun(runDir: string, options: BlameOptions): Promise<BlameResult> {
  const { calls } = RunFolder.open(runDir).read();
  const sampleIds = new Set(calls.map((c) => c.sampleId.toLowerCase()));
  const verdict = verdictFunction(options.verdicts, sampleIds);
  const result = await attributeRun(runDir, {
    ...(options.modelPath ? { model: { name: options.modelName ?? basename(options.modelPath), path: options.modelPath, device: options.device } } : {}),
    models: options.models,
    strategy: options.strategy ?? 'max_l1_norm',
    topK: options.topK ?? 1,
    verdict,
    verdictSource: describe(options.verdicts),
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return { ...result, blame: agentBlame(result.trajectories, [...new Set(calls.map((c) => c.agent))]) };
}

function describe(source: VerdictSource): string {
  switch (source.kind) {
    case 'loss-file':
      return `loss file ${source.file}`;
    case 'reference':
      return `references ${source.file} (${source.metric ?? 'contains'})`;
    case 'judge':
      return 'LLM judge';
    case 'none':
      return 'none';
  }
}

/** The builtin metrics that compare an output with a reference. */
export const REFERENCE_METRICS: readonly string[] = ['contains', 'exact_match', 'json_field_match'] satisfies BuiltinMetric[];

type VerdictFn = (sampleId: string, output: string, signal?: AbortSignal) => Promise<Verdict | undefined>;

function verdictFunction(source: VerdictSource, sampleIds: Set<string>): VerdictFn {
  switch (source.kind) {
    case 'none':
      return async () => undefined;
    case 'loss-file': {
      const verdicts = readVerdicts(source.file);
      checkKnown(source.file, verdicts.keys(), sampleIds);
      return async (id) => verdicts.get(id.toLowerCase());
    }
    case 'reference': {
      const references = readReferences(source.file);
      checkKnown(source.file, references.keys(), sampleIds);
      const metric = source.metric ?? 'contains';
      if (!REFERENCE_METRICS.includes(metric)) throw new TraceError(`--metric: expected ${REFERENCE_METRICS.join(', ')}, got "${metric}"`);
      return async (id, output) => {
        if (!references.has(id.toLowerCase())) return undefined;
        const result = runBuiltinMetric(metric, { sample: { id, fields: { reference: references.get(id.toLowerCase()) } }, output }, { reference: 'reference', normalize: 'lower' });
        return { score: result.score, loss: result.score >= 1 ? '' : result.loss, metrics: result.metrics };
      };
    }
    case 'judge': {
      const references = source.referenceFile ? readReferences(source.referenceFile) : new Map<string, unknown>();
      return async (id, output, signal) => {
        const reference = references.get(id.toLowerCase());
        const fields = reference === undefined ? {} : { reference };
        const result = await judgeWithLlm(source.provider, { sample: { id, fields }, output }, { ...(reference === undefined ? {} : { reference: 'reference' }), criteria: source.criteria }, signal);
        return { score: result.score, loss: result.loss, metrics: result.metrics };
      };
    }
  }
}

function checkKnown(file: string, ids: Iterable<string>, sampleIds: Set<string>): void {
  const unknown = [...ids].filter((id) => !sampleIds.has(id));
  if (unknown.length) {
    throw new TraceError(`${file}: trace id(s) not in the run: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''}`);
  }
}

/** `{traceId, reference}` per line (or a JSON array): the expected final output of each trace. */
export function readReferences(file: string): Map<string, unknown> {
  const entries = readTraceRecords(file, 'references');
  const out = new Map<string, unknown>();
  for (const { value, where } of entries) {
    const v = value as Record<string, unknown> | null;
    const traceId = v?.traceId ?? v?.trace_id;
    if (typeof traceId !== 'string' || !traceId) throw new TraceError(`${where}: "traceId" must be the trace id (a string)`);
    if (!v || !('reference' in v)) throw new TraceError(`${where}: "reference" is missing (the expected final output)`);
    out.set(traceId.toLowerCase(), v.reference);
  }
  return out;
}
