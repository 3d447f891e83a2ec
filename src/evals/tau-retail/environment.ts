/**
 * The tau-bench retail environment in AgentChord's environment contract (docs/environments.md): it plays the
 * customer with the LLM user simulator, opens the episode's database for the tools (tools.ts `tools`), and scores
 * the episode with tau-bench's reward when it is over.
 *
 * Task samples name a tau-bench task: `{ "id": "test-67", "split": "test", "taskIndex": 67 }` (`split` defaults to
 * the `split` option). Each turn's input has
 *   message   the user's latest message,
 *   dialogue  the conversation so far (user and agent messages, tool calls with their results), ending with `message`,
 *   tauRetailSession  the episode's id, which the tools read (context.state.task).
 * A turn's output (the output agent's answer) is the agent's message to the user.
 */
import { resolve } from 'node:path';
import type { Environment, EnvironmentEvaluation, StepResult, TurnInput } from '../../core/engine/environment';
import type { TaskSample } from '../../core/engine/dataset';
import { OpenAIProvider } from '../../core/llm/openaiProvider';
import type { ChatParameters, ChatProvider } from '../../core/llm/types';
import { loadRetailData, loadRetailTasks, RETAIL_SPLITS, RetailDatabase, type RetailSplit, type RetailTask } from './db';
import { describeAction, retailLoss } from './loss';
import { computeReward } from './rewards';
import { closeSession, openSession, SESSION_FIELD, type RetailSession } from './session';
import { STOP_TOKEN, UserSimulator } from './userSimulator';

export interface TauRetailEnvironmentOptions {
  /** The folder with orders.json, products.json, users.json and retail_tasks_<split>.json. */
  dataDir: string;
  /** The user simulator's model. */
  userProvider: ChatProvider;
  /** Sampling parameters for the user simulator (tau-bench: none, the provider's defaults). */
  userParameters?: ChatParameters;
  /** Split of samples that do not name one. Default 'test'. */
  split?: RetailSplit;
  /** Most lines the user simulator writes. Default 30. */
  maxUserTurns?: number;
  signal?: AbortSignal;
}

interface Episode {
  task: RetailTask;
  session: RetailSession;
  user: UserSimulator;
  agentMessages: string[];
  /** The conversation as the agent's next turn sees it. */
  dialogue: string[];
  /** Ended as tau-bench episodes end: the user's ###STOP### or a transfer to a human agent. */
  ended: boolean;
  /** How many tool actions the dialogue already shows. */
  toolActionsShown: number;
}

export function createTauRetailEnvironment(options: TauRetailEnvironmentOptions): Environment {
  const data = loadRetailData(options.dataDir);
  let episode: Episode | undefined;

  const current = (method: string): Episode => {
    if (!episode) throw new Error(`${method}() before reset(task)`);
    return episode;
  };

  /** Appends the tool calls made since the last turn to the dialogue. */
  const showToolActions = (e: Episode) => {
    for (const action of e.session.toolActions.slice(e.toolActionsShown)) {
      e.dialogue.push(`Tool call: ${describeAction(action)}\nTool result: ${action.observation}`);
    }
    e.toolActionsShown = e.session.toolActions.length;
  };

  const turnInput = (e: Episode, message: string): TurnInput => ({
    input: { message, dialogue: e.dialogue.join('\n\n'), [SESSION_FIELD]: e.session.id },
  });

  return {
    async reset(sample: TaskSample): Promise<TurnInput> {
      if (episode) closeSession(episode.session.id);
      const task = resolveTask(options.dataDir, sample, options.split ?? 'test');
      const session = openSession(new RetailDatabase(data));
      const user = new UserSimulator({
        provider: options.userProvider,
        instruction: task.instruction,
        maxTurns: options.maxUserTurns,
        parameters: options.userParameters,
        signal: options.signal,
      });
      episode = { task, session, user, agentMessages: [], dialogue: [], ended: false, toolActionsShown: 0 };
      const first = await user.start();
      episode.dialogue.push(`User: ${first}`);
      return turnInput(episode, first);
    },

    async step(systemOutput: string): Promise<StepResult> {
      const e = current('step');
      showToolActions(e);
      if (e.session.transferred) {
        // tau-bench ends the episode right at the transfer; what the agent wrote afterwards is never sent.
        e.ended = true;
        return { done: true };
      }
      e.agentMessages.push(systemOutput);
      e.dialogue.push(`Agent: ${systemOutput}`);
      const reply = await e.user.reply(systemOutput);
      e.dialogue.push(`User: ${reply}`);
      if (reply.includes(STOP_TOKEN)) {
        e.ended = !e.user.stoppedByLimit;
        return { done: true };
      }
      return { done: false, input: turnInput(e, reply).input };
    },

    async evaluate(): Promise<EnvironmentEvaluation> {
      const e = current('evaluate');
      showToolActions(e);
      if (e.session.transferred) e.ended = true;
      const reward = computeReward(data, e.task, e.session.database, e.agentMessages, e.ended);
      const predictedActions = e.session.toolActions.map(({ name, kwargs }) => ({ name, kwargs }));
      const loss = retailLoss({ task: e.task, predictedActions, agentMessages: e.agentMessages, reward, ended: e.ended });
      closeSession(e.session.id);
      return {
        metrics: {
          reward: reward.reward,
          actionReward: reward.actionReward,
          outputReward: reward.outputReward,
          ended: e.ended ? 1 : 0,
          userTurns: e.user.turns,
          toolCalls: e.session.toolActions.length,
        },
        lossFields: { ...loss, dialogue: e.dialogue.join('\n\n') },
      };
    },
  };
}

/** The tau-bench task a sample names (`split`, `taskIndex`); errors name the sample and field at fault. */
function resolveTask(dataDir: string, sample: TaskSample, defaultSplit: RetailSplit): RetailTask {
  const where = `task sample "${sample.id}"`;
  const split = sample.fields.split ?? defaultSplit;
  if (!RETAIL_SPLITS.includes(split as RetailSplit)) throw new Error(`${where}: field "split" must be one of ${RETAIL_SPLITS.join(', ')} (got ${JSON.stringify(split)})`);
  const tasks = loadRetailTasks(dataDir, split as RetailSplit);
  const index = sample.fields.taskIndex;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= tasks.length) {
    throw new Error(`${where}: field "taskIndex" must be an integer from 0 to ${tasks.length - 1} (the ${split} split has ${tasks.length} tasks; got ${JSON.stringify(index)})`);
  }
  return tasks[index];
}

/**
 * The environment module entry point (`environment: { module, options }` in agentchord.yaml). Options:
 *   dataDir        the data folder (required; relative paths resolve against the working directory)
 *   user           { baseUrl, model, apiKeyEnv?, parameters? }: the user simulator's OpenAI-compatible endpoint
 *   split          default split of the samples ('test')
 *   maxUserTurns   most user-simulator lines (30)
 */
export function createEnvironment(options: Record<string, unknown>): Environment {
  const where = 'tau-retail environment options';
  if (typeof options.dataDir !== 'string' || !options.dataDir) throw new Error(`${where}: "dataDir" must be the path of the tau-retail data folder`);
  const user = options.user as Record<string, unknown> | undefined;
  if (typeof user !== 'object' || user === null) throw new Error(`${where}: "user" must be { baseUrl, model, apiKeyEnv?, parameters? } (the user simulator's model)`);
  for (const field of ['baseUrl', 'model'] as const) {
    if (typeof user[field] !== 'string' || !user[field]) throw new Error(`${where}: "user.${field}" must be a non-empty string`);
  }
  if (user.apiKeyEnv !== undefined && typeof user.apiKeyEnv !== 'string') throw new Error(`${where}: "user.apiKeyEnv" must be the name of an environment variable`);
  if (user.parameters !== undefined && (typeof user.parameters !== 'object' || user.parameters === null)) throw new Error(`${where}: "user.parameters" must be an object`);
  if (options.split !== undefined && !RETAIL_SPLITS.includes(options.split as RetailSplit)) throw new Error(`${where}: "split" must be one of ${RETAIL_SPLITS.join(', ')}`);
  const maxUserTurns = options.maxUserTurns;
  if (maxUserTurns !== undefined && (typeof maxUserTurns !== 'number' || !Number.isInteger(maxUserTurns) || maxUserTurns < 1)) {
    throw new Error(`${where}: "maxUserTurns" must be a positive integer`);
  }
  return createTauRetailEnvironment({
    dataDir: resolve(options.dataDir),
    userProvider: new OpenAIProvider({
      baseUrl: user.baseUrl as string,
      model: user.model as string,
      apiKeyEnv: user.apiKeyEnv as string | undefined,
      parameters: user.parameters as ChatParameters | undefined,
    }),
    split: options.split as RetailSplit | undefined,
    maxUserTurns: maxUserTurns as number | undefined,
  });
}
