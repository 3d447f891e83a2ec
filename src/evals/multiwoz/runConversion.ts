/**
 * From an AgentChord run of the MultiWOZ example to the standard evaluator's predictions format: per dialogue, one
 * turn per system turn with the output agent's (delexicalised) reply as `response` and, as in the GBC paper, the
 * dialogue state read off the workers' tool calls up to that turn as `state`. The environment (./environment.ts)
 * uses the same conversion, so the metrics a run records equal what `agentchord eval multiwoz --run` computes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluatorId } from './derive';
import { statesPerTurn, type ToolCallRecord } from './state';
import type { PredictedTurn, Predictions } from './types';

/** The fields of a calls.jsonl line (src/core/engine/types.ts AgentCall) that the conversion reads. */
export interface RunCall {
  sampleId: string;
  turn: number;
  agent: string;
  step: number;
  output: string;
  toolCalls: ToolCallRecord[];
}

/** One dialogue's predicted turns: the replies with the state after each turn's tool calls. */
export function predictedDialogue(responses: string[], toolCallsPerTurn: ToolCallRecord[][]): PredictedTurn[] {
  const states = statesPerTurn(toolCallsPerTurn);
  return responses.map((response, t) => ({ response, state: states[t] }));
}

/** The tool calls of a turn's agent calls, in the order they were made. */
export function toolCallsOf(calls: Array<Pick<RunCall, 'toolCalls'>>): ToolCallRecord[] {
  return calls.flatMap((call) => call.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })));
}

/**
 * The MultiWOZ dialogue id of a run's sample id: the dataset id without the optimizer's label
 * (`s0:MUL0389` → `mul0389`).
 */
export function dialogueIdOfSample(sampleId: string): string {
  return evaluatorId(sampleId.slice(sampleId.lastIndexOf(':') + 1));
}

export interface ConversionOptions {
  /** The agent whose output is the reply (the system's `output`). */
  outputAgent: string;
  /**
   * Only the samples of this label: an optimize run prefixes the dataset ids (`s0:MUL0389` is step 1's training
   * batch, `s0:val-current:…` and `s0:val-candidate:…` its acceptance test); '' is an unprefixed id. Default: all.
   */
  label?: string;
}

/** The label of a run's sample id: what precedes the dataset id (`s0:val-current:MUL0389` → `s0:val-current`). */
export function labelOfSample(sampleId: string): string {
  return sampleId.slice(0, Math.max(0, sampleId.lastIndexOf(':')));
}

/** Predictions from a run's calls. A dialogue that ran more than once (optimize steps) needs a `label`. */
export function predictionsFromCalls(calls: RunCall[], options: ConversionOptions): Predictions {
  const bySample = new Map<string, RunCall[]>();
  for (const call of calls) {
    if (options.label !== undefined && labelOfSample(call.sampleId) !== options.label) continue;
    const list = bySample.get(call.sampleId) ?? [];
    list.push(call);
    bySample.set(call.sampleId, list);
  }
  const predictions: Predictions = {};
  const sampleOf = new Map<string, string>();
  for (const [sampleId, sampleCalls] of bySample) {
    const id = dialogueIdOfSample(sampleId);
    const earlier = sampleOf.get(id);
    if (earlier !== undefined) {
      throw new Error(`dialogue '${id}' ran more than once in this run (samples "${earlier}" and "${sampleId}"): choose the samples of one label, e.g. "${labelOfSample(sampleId)}"`);
    }
    sampleOf.set(id, sampleId);
    const turns = Math.max(...sampleCalls.map((c) => c.turn)) + 1;
    const responses: string[] = [];
    const toolCalls: ToolCallRecord[][] = [];
    for (let t = 0; t < turns; t++) {
      const turnCalls = sampleCalls.filter((c) => c.turn === t);
      const replies = turnCalls.filter((c) => c.agent === options.outputAgent);
      if (replies.length === 0) throw new Error(`sample "${sampleId}", turn ${t}: no call of the output agent "${options.outputAgent}"`);
      // The agent's answer is its last step's output (earlier steps only called tools).
      responses.push(replies.reduce((a, b) => (b.step > a.step ? b : a)).output);
      toolCalls.push(toolCallsOf(turnCalls));
    }
    predictions[id] = predictedDialogue(responses, toolCalls);
  }
  return predictions;
}

/** Reads `<runDir>/calls.jsonl` and converts it. Errors name the file and line at fault. */
export function predictionsFromRunFolder(runDir: string, options: ConversionOptions): Predictions {
  const file = join(runDir, 'calls.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the run's calls (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is ${runDir} a run folder?`);
  }
  const calls: RunCall[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let call: unknown;
    try {
      call = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    const c = call as Partial<RunCall>;
    if (typeof c.sampleId !== 'string' || typeof c.turn !== 'number' || typeof c.agent !== 'string' || typeof c.output !== 'string' || !Array.isArray(c.toolCalls)) {
      throw new Error(`${file}:${i + 1}: not an agent call (needs sampleId, turn, agent, output, toolCalls)`);
    }
    calls.push({ sampleId: c.sampleId, turn: c.turn, agent: c.agent, step: typeof c.step === 'number' ? c.step : 0, output: c.output, toolCalls: c.toolCalls });
  });
  if (calls.length === 0) throw new Error(`${file}: the run has no calls`);
  const predictions = predictionsFromCalls(calls, options);
  if (Object.keys(predictions).length === 0) {
    const labels = [...new Set(calls.map((c) => labelOfSample(c.sampleId)))];
    throw new Error(`${file}: no sample has the label "${options.label}" (labels: ${labels.map((l) => `"${l}"`).join(', ')})`);
  }
  return predictions;
}
