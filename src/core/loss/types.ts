/**
 * Verbal losses (GBC, section 3): each sample's output is scored and, when it falls short, described in words. The
 * words travel backward along the attribution graph to the blamed agents. As in the paper, the loss text comes from
 * a template filled with the sample's metric results and fields, not from a model call (an LLM judge is optional).
 */

/** One task sample, as the forward run loads it (`{ id, fields }`: one JSONL line). */
export interface LossSample {
  id: string;
  fields: Record<string, unknown>;
}

export interface LossInput {
  sample: LossSample;
  /** The output agent's final answer. */
  output: string;
  /** What an environment (multi-turn simulator) measured, when the system has one. */
  environment?: { metrics: Record<string, number>; lossFields: Record<string, unknown> };
}

export interface LossResult {
  metrics: Record<string, number>;
  /** Higher is better, in [0, 1]. */
  score: number;
  /** The verbal loss; '' when the sample is fully correct (nothing to blame). */
  loss: string;
  /** Values the loss text was built from (what was expected, what was missing...), for templates and reports. */
  lossFields: Record<string, unknown>;
}

export interface LossFunction {
  /** e.g. `builtin:exact_match`, `template:losses/loss.md`. */
  readonly name: string;
  evaluate(input: LossInput, signal?: AbortSignal): Promise<LossResult>;
}

/** Bad loss configuration or a sample the loss cannot judge; the message names the file, sample and field. */
export class LossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LossError';
  }
}
