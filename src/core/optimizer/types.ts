/**
 * Optimizers turn the backward pass's trajectories into proposed prompts (GBC, section 3: "textual gradient
 * descent" on the blamed agents). They never write prompt files: the result becomes a Proposal in the run folder,
 * which a person reviews and applies (`agentchord apply`).
 */
import type { AgentCall, Checkpoint, PromptChange, SampleOutcome, Trajectory } from '../engine/types';
import type { SystemConfig } from '../system/types';

export interface OptimizerInput {
  system: SystemConfig;
  /** Current prompt text of every agent (whole file text, front matter included). */
  prompts: Record<string, string>;
  /** The batch's trajectories; only agents on them may change. */
  trajectories: Trajectory[];
  /** The batch's calls, to show what a blamed agent saw and produced. */
  calls: AgentCall[];
  outcomes: SampleOutcome[];
  /** Earlier (prompts, score) pairs of this optimization, oldest first. */
  history: Checkpoint['history'];
}

export type OptimizerResult =
  | { ok: true; reasoning: string; changes: PromptChange[] }
  /** No proposal; `message` says why (bad reply, unknown agents...). */
  | { ok: false; message: string };

export interface Optimizer {
  readonly kind: 'llm' | 'warnings';
  propose(input: OptimizerInput, signal?: AbortSignal): Promise<OptimizerResult>;
}

/** The front matter of a prompt file stays as it is; optimizers work on the body. */
export function splitFrontMatter(text: string, bodyOffset: number): { head: string; body: string } {
  return { head: text.slice(0, bodyOffset), body: text.slice(bodyOffset) };
}

export const excerpt = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : flat.slice(0, max - 1) + '…';
};
