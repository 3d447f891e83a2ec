/**
 * Blame for a run folder that has calls but no system file behind it (an imported trace, `agentchord blame`): every
 * call is attributed on one local model (a surrogate for whatever model the agent ran on), each sample gets its
 * verdict (a loss text and a score), and the backward pass turns verdicts into trajectories, exactly as for a native
 * run. The run folder's attribution, samples, graphs and trajectories are replaced, each file atomically, and run.json
 * last: a cancelled or failed blame leaves the previous files as they were.
 */
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import type { LocalModels } from '../../protocol/localModel';
import type { AttributionStrategy } from '../system/types';
import { makeModelAttributor, singleBlockAttribution, unavailableAttribution } from './attribution';
import { backwardSample } from './backward';
import { RunFolder } from './runFolder';
import { RUN_FILES, type AgentCall, type AttributionGraph, type CallAttribution, type SampleOutcome, type Trajectory } from './types';

export interface Verdict {
  /** Higher is better, in [0, 1]. */
  score: number;
  /** What went wrong ('' when the sample is right: nothing to blame). */
  loss: string;
  metrics?: Record<string, number>;
}

export interface AttributeRunOptions {
  /** The attribution model; undefined: weights are left unavailable (graphs and trajectories still follow structure). */
  model?: { name: string; path: string; device?: 'auto' | 'cpu' | 'cuda' | 'webgpu' };
  models?: LocalModels;
  strategy: AttributionStrategy;
  topK: number;
  /** The verdict of a sample, given its final output; undefined: not judged (no trajectories for it). */
  verdict: (sampleId: string, output: string, signal?: AbortSignal) => Verdict | undefined | Promise<Verdict | undefined>;
  /** Where the verdicts come from, for run.json (e.g. `loss file verdicts.jsonl`). */
  verdictSource: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, callId: string) => void;
}

export interface AttributeRunResult {
  attributions: CallAttribution[];
  samples: SampleOutcome[];
  graphs: AttributionGraph[];
  trajectories: Trajectory[];
  /** Samples that had no verdict. */
  unjudged: string[];
}

/** The call whose answer is a sample's output: its last call that answered in text (else its last call). */
export function finalAnswerCall(calls: readonly AgentCall[]): AgentCall | undefined {
  return [...calls].reverse().find((c) => c.output.trim() !== '' && c.toolCalls.length === 0) ?? calls[calls.length - 1];
}

export async function attributeRun(runDir: string, options: AttributeRunOptions): Promise<AttributeRunResult> {
  const folder = RunFolder.open(runDir);
  folder.lock();
  try {
    const { calls } = folder.read();
    if (calls.length === 0) throw new Error(`${join(runDir, RUN_FILES.calls)}: the run has no calls to blame`);
    const settings = { attribution: { model: options.model?.name, strategy: options.strategy } };
    const attributor = options.model && options.models ? makeModelAttributor(options.model, options.strategy, options.models) : undefined;

    const attributions: CallAttribution[] = [];
    for (const call of calls) {
      options.signal?.throwIfAborted();
      options.onProgress?.(attributions.length, calls.length, call.id);
      const a = attributor
        ? await attributor.attributeCall(call, options.signal)
        : (singleBlockAttribution(call, settings) ?? unavailableAttribution(call, settings, 'no attribution model given (agentchord blame --model <dir>)'));
      attributions.push(a);
    }
    options.signal?.throwIfAborted();

    const bySample = new Map<string, AgentCall[]>();
    for (const c of calls) {
      const list = bySample.get(c.sampleId);
      if (list) list.push(c);
      else bySample.set(c.sampleId, [c]);
    }
    const samples: SampleOutcome[] = [];
    const graphs: AttributionGraph[] = [];
    const trajectories: Trajectory[] = [];
    const unjudged: string[] = [];
    for (const [sampleId, sampleCalls] of bySample) {
      const final = finalAnswerCall(sampleCalls)!;
      const verdict = await options.verdict(sampleId, final.output, options.signal);
      if (!verdict) unjudged.push(sampleId);
      const loss = verdict?.loss ?? '';
      const backward = backwardSample(sampleId, sampleCalls, attributions, loss, { topK: options.topK, outputAgent: final.agent });
      graphs.push(backward.graph);
      for (const t of backward.trajectories) trajectories.push(t);
      samples.push({ sampleId, split: 'train', output: final.output, metrics: verdict?.metrics ?? (verdict ? { score: verdict.score } : {}), score: verdict?.score ?? 1, loss });
    }
    options.signal?.throwIfAborted();

    const jsonl = (values: unknown[]) => values.map((v) => JSON.stringify(v) + '\n').join('');
    // The attribution pass fills each block's token range in: the calls are written back with them.
    writeFileAtomicSync(join(runDir, RUN_FILES.calls), jsonl(calls));
    writeFileAtomicSync(join(runDir, RUN_FILES.attribution), jsonl(attributions));
    writeFileAtomicSync(join(runDir, RUN_FILES.samples), jsonl(samples));
    writeFileAtomicSync(join(runDir, RUN_FILES.graphs), jsonl(graphs));
    writeFileAtomicSync(join(runDir, RUN_FILES.trajectories), jsonl(trajectories));
    const manifest = folder.current;
    const attributed = attributions.some((a) => a.status === 'ok');
    folder.updateManifest({
      attribution: {
        ...(options.model ? { model: options.model.name } : {}),
        strategy: options.strategy,
        topK: options.topK,
        surrogate: attributions.some((a) => a.surrogate && a.status === 'ok'),
      },
      dataset: { ...manifest.dataset, samples: samples.length },
      blame: { at: new Date().toISOString(), verdicts: options.verdictSource, attributed, ...(options.model ? { modelPath: options.model.path } : {}) },
    });
    return { attributions, samples, graphs, trajectories, unjudged };
  } finally {
    folder.unlock();
  }
}
