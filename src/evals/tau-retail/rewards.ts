/**
 * tau-bench's reward for one finished retail episode (spec §6):
 * - action reward: the agent's final database equals the one the task's ground-truth actions lead to;
 * - output reward (only for tasks with required `outputs`): every output appears in some agent message, compared
 *   lower-case with the commas removed from the agent's text (so "8276.23" matches "$8,276.23");
 * - reward = 1 when both hold (an episode that never ended scores 0: the caller passes `ended: false`).
 */
import type { RetailData, RetailDatabase, RetailTask } from './db';
import { groundTruthDatabase } from './replay';

export interface OutputCheck {
  output: string;
  found: boolean;
}

export interface RetailReward {
  /** 1 or 0. */
  reward: number;
  /** 1 when the final database equals the ground truth's. */
  actionReward: number;
  /** 1 when every required output was said (also 1 when the task requires none). */
  outputReward: number;
  /** One entry per required output, in the task's order. */
  outputs: OutputCheck[];
}

/** Whether `output` appears in one of the agent's messages, as tau-bench checks it. */
export function outputFound(output: string, agentMessages: readonly string[]): boolean {
  const wanted = output.toLowerCase();
  return agentMessages.some((message) => message.replaceAll(',', '').toLowerCase().includes(wanted));
}

export function checkOutputs(task: RetailTask, agentMessages: readonly string[]): OutputCheck[] {
  return task.outputs.map((output) => ({ output, found: outputFound(output, agentMessages) }));
}

/**
 * The reward of an episode: `database` is the agent's database at the end, `agentMessages` every message the agent
 * sent the user (its `respond` actions), `ended` whether the episode ended as tau-bench's do (the user's ###STOP###
 * or a transfer to a human agent).
 */
export function computeReward(
  data: RetailData,
  task: RetailTask,
  database: RetailDatabase,
  agentMessages: readonly string[],
  ended = true,
): RetailReward {
  const actionReward = database.equals(groundTruthDatabase(data, task)) ? 1 : 0;
  const outputs = checkOutputs(task, agentMessages);
  const outputReward = outputs.every((o) => o.found) ? 1 : 0;
  return { reward: ended && actionReward && outputReward ? 1 : 0, actionReward, outputReward, outputs };
}
