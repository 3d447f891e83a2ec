/**
 * The verbal reward loss of a retail episode: what the optimizer reads to decide which agent to blame and how to
 * change its prompt. It states the facts the reward is made of (ground-truth vs predicted actions, the action match,
 * required outputs vs what the agent said, the output match) and nothing the reward does not know.
 */
import type { RetailAction, RetailTask } from './db';
import type { RetailReward } from './rewards';

export interface RetailLossInput {
  task: RetailTask;
  /** The tool actions the agent took, in order (without its messages). */
  predictedActions: readonly RetailAction[];
  /** The agent's messages to the user, in order. */
  agentMessages: readonly string[];
  reward: RetailReward;
  /** False when the conversation ran out of turns before the user or a transfer ended it. */
  ended: boolean;
}

/** Fields for the loss (also handed to the engine as the environment's lossFields). */
export interface RetailLossFields {
  groundTruthActions: string;
  predictedActions: string;
  actionMatch: string;
  requiredOutputs: string;
  agentResponses: string;
  outputMatch: string;
  reward: number;
  loss: string;
}

export function describeAction(action: RetailAction): string {
  return `${action.name}(${JSON.stringify(action.kwargs ?? {})})`;
}

const numbered = (lines: readonly string[]) => (lines.length ? lines.map((l, i) => `${i + 1}. ${l}`).join('\n') : '(none)');

/** The loss text and its parts for one finished episode. */
export function retailLoss(input: RetailLossInput): RetailLossFields {
  const { task, reward } = input;
  const groundTruthActions = numbered(task.actions.map(describeAction));
  const predictedActions = numbered(input.predictedActions.map(describeAction));
  const actionMatch = reward.actionReward
    ? 'yes: the final database equals the one the ground-truth actions produce'
    : 'no: the final database differs from the one the ground-truth actions produce';
  const requiredOutputs = task.outputs.length ? numbered(reward.outputs.map((o) => `"${o.output}" (${o.found ? 'said' : 'never said'})`)) : '(none required)';
  const agentResponses = numbered(input.agentMessages);
  const outputMatch = !task.outputs.length
    ? 'not applicable (the task requires no outputs)'
    : reward.outputReward
      ? 'yes: every required output appears in the agent’s messages'
      : `no: missing ${reward.outputs.filter((o) => !o.found).map((o) => `"${o.output}"`).join(', ')}`;

  const verdict = reward.reward
    ? 'The task was solved (reward 1).'
    : `The task failed (reward 0)${input.ended ? '' : ': the conversation ran out of turns before it ended'}.`;
  const loss = [
    verdict,
    `Ground-truth actions:\n${groundTruthActions}`,
    `Actions taken by the agent:\n${predictedActions}`,
    `Action match: ${actionMatch}.`,
    `Required outputs:\n${requiredOutputs}`,
    `Output match: ${outputMatch}.`,
  ].join('\n\n');
  return { groundTruthActions, predictedActions, actionMatch, requiredOutputs, agentResponses, outputMatch, reward: reward.reward, loss };
}
