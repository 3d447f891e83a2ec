/**
 * The pre-flight estimate of an optimization, shown before any model is called: how many calls and tokens it will
 * take at most. Rough by design: agents x samples x (1 + tool steps) calls, and prompt sizes at 4 characters per
 * token (a common rule of thumb for English with BPE tokenizers).
 */
import { priceFor, DEFAULT_PRICES } from '../llm/usage';
import type { SystemConfig } from '../system/types';
import type { TaskSample } from './dataset';

export const CHARS_PER_TOKEN = 4;
/** Completion length assumed when a model sets no max_tokens. */
const DEFAULT_COMPLETION_TOKENS = 256;

export interface RunEstimate {
  /** Model calls, upper bound (every tool step used). */
  calls: number;
  promptTokens: number;
  completionTokens: number;
  tokens: number;
  /** USD, for priced endpoint models; local and unknown models count 0 (listed in `unpriced`). */
  costUsd: number;
  unpriced: string[];
  perStep: { forwardCalls: number; acceptanceCalls: number; optimizerCalls: number };
}

export interface EstimateInput {
  system: SystemConfig;
  prompts: Record<string, string>;
  train: TaskSample[];
  validation: TaskSample[];
  steps: number;
  batchSize: number;
  acceptanceTest: boolean;
  validationBatchSize: number;
}

export function estimateOptimization(o: EstimateInput): RunEstimate {
  const { system } = o;
  const avgSampleChars = average(o.train.map((s) => JSON.stringify(s.fields).length));
  const unpriced = new Set<string>();
  let callsPerSample = 0;
  let promptPerSample = 0;
  let completionPerSample = 0;
  let costPerSample = 0;

  for (const agent of system.agents) {
    const calls = 1 + (agent.tools.length ? agent.maxToolSteps : 0);
    const completion = completionTokens(system, agent.model);
    // Its prompt, the task, and each predecessor's output (about one completion each).
    const predecessors = agent.inputs.filter((i) => i.kind === 'agent').length;
    const prompt = Math.ceil(((o.prompts[agent.name] ?? '').length + avgSampleChars) / CHARS_PER_TOKEN) + predecessors * completion;
    callsPerSample += calls;
    promptPerSample += calls * prompt;
    completionPerSample += calls * completion;
    costPerSample += calls * cost(system, agent.model, prompt, completion, unpriced);
  }

  const forwardSamples = o.batchSize;
  const acceptanceSamples = o.acceptanceTest ? 2 * Math.min(o.validationBatchSize, o.validation.length) : 0;
  const samplesPerStep = forwardSamples + acceptanceSamples;
  const optimizerCalls = system.optimizer.kind === 'llm' ? 1 : 0;
  // The optimizer reads every prompt plus the trajectories, and writes the blamed prompts back.
  const promptChars = Object.values(o.prompts).reduce((a, p) => a + p.length, 0);
  const optimizerPrompt = optimizerCalls * Math.ceil((promptChars * 2 + 2000) / CHARS_PER_TOKEN);
  const optimizerCompletion = optimizerCalls * Math.ceil(promptChars / CHARS_PER_TOKEN);
  const optimizerCost = system.optimizer.model ? cost(system, system.optimizer.model, optimizerPrompt, optimizerCompletion, unpriced) : 0;

  const calls = o.steps * (samplesPerStep * callsPerSample + optimizerCalls);
  const promptTokens = o.steps * (samplesPerStep * promptPerSample + optimizerPrompt);
  const completionTokensTotal = o.steps * (samplesPerStep * completionPerSample + optimizerCompletion);
  return {
    calls,
    promptTokens,
    completionTokens: completionTokensTotal,
    tokens: promptTokens + completionTokensTotal,
    costUsd: o.steps * (samplesPerStep * costPerSample + optimizerCost),
    unpriced: [...unpriced].sort(),
    perStep: { forwardCalls: forwardSamples * callsPerSample, acceptanceCalls: acceptanceSamples * callsPerSample, optimizerCalls },
  };
}

export function formatEstimate(e: RunEstimate): string {
  const cost = e.costUsd > 0 ? `, about $${e.costUsd.toFixed(2)}` : '';
  const unpriced = e.unpriced.length ? ` (no price for ${e.unpriced.join(', ')})` : '';
  return `estimate: at most ${e.calls} model calls, about ${e.tokens.toLocaleString('en-US')} tokens${cost}${unpriced}`;
}

function completionTokens(system: SystemConfig, model: string): number {
  const max = system.models[model]?.parameters.max_tokens;
  return typeof max === 'number' && max > 0 ? max : DEFAULT_COMPLETION_TOKENS;
}

function cost(system: SystemConfig, modelName: string, prompt: number, completion: number, unpriced: Set<string>): number {
  const model = system.models[modelName];
  if (!model || model.kind !== 'endpoint') return 0;
  const price = priceFor(model.model, DEFAULT_PRICES);
  if (!price) {
    unpriced.add(model.model);
    return 0;
  }
  return (prompt * price.inputPerMillion + completion * price.outputPerMillion) / 1_000_000;
}

const average = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
