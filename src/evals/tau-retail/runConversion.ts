/**
 * From an AgentChord run folder of the tau-retail example to tau-bench's results format, and the evaluator that
 * scores such results the way tau-bench does.
 *
 * tau-bench's `run.py` writes one JSON array of episode results, `{task_id, reward, info, traj, trial}`, where `traj`
 * is the agent's conversation in OpenAI chat format: the customer's messages (`user`), the agent's tool calls
 * (`assistant` with `tool_calls`) and their observations (`tool`), and the agent's messages (`assistant`). The
 * converter writes that shape from `calls.jsonl`: for each sample, every tool call any agent made (in the order
 * they ran) and, per turn, the customer's message (the `task.message` block) and the output agent's answer.
 * Worker reports stay inside the team: they are not messages to the customer.
 *
 * The evaluator reads the actions and agent messages back from `traj`, replays the actions on a fresh database and
 * computes tau-bench's reward (./rewards.ts), so a converted run and a results file are scored by the same code,
 * independently of the scores the environment recorded during the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentCall, SampleOutcome } from '../../core/engine/types';
import { parseSampleId } from './datasets';
import { loadRetailData, loadRetailTasks, RETAIL_SPLITS, type RetailAction, type RetailSplit, type RetailTask } from './db';
import { replayActions } from './replay';
import { computeReward, type RetailReward } from './rewards';
import { isRetailTool, TRANSFER_TOOL } from './tools';

/** One message of a tau-bench trajectory (OpenAI chat format). */
export type TauMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: TauToolCall[] }
  | { role: 'tool'; tool_call_id: string; name: string; content: string };

export interface TauToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One episode result, as tau-bench's run.py saves them (plus AgentChord's `info.split`, `info.sample_id`, `info.ended`). */
export interface TauRunResult {
  task_id: number;
  reward: number;
  info: {
    split: RetailSplit;
    /** The sample id in the run folder (optimization runs prefix it with the step, e.g. `s3:train-7`). */
    sample_id?: string;
    /** Whether the episode ended as tau-bench's do (the customer's ###STOP### or a transfer); false scores 0. */
    ended: boolean;
    task: RetailTask;
    reward_info: {
      reward: number;
      info: { r_actions: number; r_outputs: number; outputs: Record<string, boolean> };
      actions: RetailAction[];
    };
  };
  traj: TauMessage[];
  /** 0 for a task's first episode in the file, 1 for its second, ... (pass^k counts trials). */
  trial: number;
}

export interface ConvertOptions {
  /** The environment's maxTurns: an episode that used them all without a transfer did not end (default 30). */
  maxTurns?: number;
}

export interface ConvertedRun {
  results: TauRunResult[];
  /** Things the reader should know (samples whose end had to be inferred, a run that did not complete). */
  notes: string[];
}

export class RunConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunConversionError';
  }
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as T;
      } catch (err) {
        throw new RunConversionError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
      }
    });
}

/** The episode of one sample, read from its calls (in the order they ran). */
interface Episode {
  sampleId: string;
  split: RetailSplit;
  taskIndex: number;
  traj: TauMessage[];
  turns: number;
  transferred: boolean;
}

function blockText(call: AgentCall, field: string): string | undefined {
  const block = call.blocks.find((b) => b.source.kind === 'task' && b.source.field === field);
  return block ? call.renderedInput.slice(block.charStart, block.charEnd) : undefined;
}

function episodeOf(sampleId: string, calls: AgentCall[]): Episode {
  const task = parseSampleId(sampleId);
  if (!task) throw new RunConversionError(`sample "${sampleId}": the id does not name a tau-retail task (<train|dev|test>-<task index>, as in the example's datasets)`);
  const traj: TauMessage[] = [];
  const turns = [...new Set(calls.map((c) => c.turn))].sort((a, b) => a - b);
  let transferred = false;
  for (const turn of turns) {
    const turnCalls = calls.filter((c) => c.turn === turn);
    const message = turnCalls.map((c) => blockText(c, 'message')).find((m) => m !== undefined);
    if (message !== undefined) traj.push({ role: 'user', content: message });
    for (const call of turnCalls) {
      // Calls the engine could not run (unknown tool, bad JSON) never reached the tools; after a transfer the
      // episode is over and the tools refuse every action.
      const executed = call.toolCalls.filter((t) => t.error === undefined && isRetailTool(t.name));
      if (transferred || executed.length === 0) continue;
      const shown: typeof executed = [];
      for (const t of executed) {
        if (transferred) break;
        shown.push(t);
        if (t.name === TRANSFER_TOOL) transferred = true;
      }
      traj.push({ role: 'assistant', content: null, tool_calls: shown.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.arguments } })) });
      for (const t of shown) traj.push({ role: 'tool', tool_call_id: t.id, name: t.name, content: t.result });
    }
    // The output agent runs last in every turn; after a transfer its answer is never sent to the customer.
    if (!transferred) traj.push({ role: 'assistant', content: turnCalls[turnCalls.length - 1].output });
  }
  return { sampleId, ...task, traj, turns: turns.length, transferred };
}

/** Reads a run folder's calls (and, when the run recorded them, the samples' environment metrics) as tau-bench results. */
export function convertRun(runDir: string, dataDir: string, options: ConvertOptions = {}): ConvertedRun {
  const callsFile = join(runDir, 'calls.jsonl');
  if (!existsSync(callsFile)) throw new RunConversionError(`${runDir}: not a run folder (no calls.jsonl)`);
  const calls = readJsonl<AgentCall>(callsFile);
  const outcomes = new Map(readJsonl<SampleOutcome>(join(runDir, 'samples.jsonl')).map((s) => [s.sampleId, s]));
  const maxTurns = options.maxTurns ?? 30;
  const notes: string[] = [];
  const manifestFile = join(runDir, 'run.json');
  if (existsSync(manifestFile)) {
    const status = (JSON.parse(readFileSync(manifestFile, 'utf8')) as { status?: string }).status;
    if (status !== 'completed') notes.push(`the run's status is "${status}": its last episodes may be incomplete`);
  }

  const bySample = new Map<string, AgentCall[]>();
  for (const call of calls) {
    const list = bySample.get(call.sampleId) ?? [];
    list.push(call);
    bySample.set(call.sampleId, list);
  }
  const episodes = [...bySample].map(([id, sampleCalls]) => episodeOf(id, sampleCalls));
  let inferred = 0;
  const ended = episodes.map((e) => {
    const recorded = outcomes.get(e.sampleId)?.metrics.ended;
    if (recorded !== undefined) return recorded === 1;
    inferred++;
    return e.transferred || e.turns < maxTurns;
  });
  if (inferred > 0) {
    notes.push(
      `${inferred} episode${inferred === 1 ? '' : 's'} had no recorded outcome (samples.jsonl): each counts as ended unless it used all ${maxTurns} turns without a transfer`,
    );
  }
  const results = scoreEpisodes(
    dataDir,
    episodes.map((e, i) => ({ split: e.split, taskIndex: e.taskIndex, sampleId: e.sampleId, traj: e.traj, ended: ended[i] })),
  );
  return { results, notes };
}

/** What the evaluator needs of an episode. */
export interface EpisodeInput {
  split: RetailSplit;
  taskIndex: number;
  sampleId?: string;
  traj: TauMessage[];
  ended: boolean;
}

/** The actions (tool calls with parsed arguments, up to a transfer) and the agent's messages of a trajectory. */
export function readTrajectory(traj: readonly TauMessage[], where: string): { actions: RetailAction[]; agentMessages: string[] } {
  const actions: RetailAction[] = [];
  const agentMessages: string[] = [];
  let transferred = false;
  traj.forEach((m, i) => {
    if (m.role !== 'assistant' || transferred) return;
    for (const call of m.tool_calls ?? []) {
      let kwargs: unknown;
      try {
        kwargs = JSON.parse(call.function.arguments || '{}');
      } catch {
        throw new RunConversionError(`${where}: traj[${i}]: the arguments of ${call.function.name} are not valid JSON`);
      }
      actions.push({ name: call.function.name, kwargs: (kwargs ?? {}) as Record<string, unknown> });
      if (call.function.name === TRANSFER_TOOL) {
        transferred = true;
        break;
      }
    }
    if (!m.tool_calls?.length && typeof m.content === 'string') agentMessages.push(m.content);
  });
  return { actions, agentMessages };
}

/** Scores episodes as tau-bench does: replay the actions on a fresh database, compare, check the required outputs. */
export function scoreEpisodes(dataDir: string, episodes: readonly EpisodeInput[]): TauRunResult[] {
  const data = loadRetailData(dataDir);
  const trials = new Map<string, number>();
  return episodes.map((e) => {
    const where = e.sampleId ? `sample "${e.sampleId}"` : `${e.split} task ${e.taskIndex}`;
    const tasks = loadRetailTasks(dataDir, e.split);
    const task = tasks[e.taskIndex];
    if (!task) throw new RunConversionError(`${where}: the ${e.split} split has no task ${e.taskIndex} (it has ${tasks.length})`);
    const { actions, agentMessages } = readTrajectory(e.traj, where);
    const { database } = replayActions(data, actions);
    const reward: RetailReward = computeReward(data, task, database, agentMessages, e.ended);
    const key = `${e.split}-${e.taskIndex}`;
    const trial = trials.get(key) ?? 0;
    trials.set(key, trial + 1);
    return {
      task_id: e.taskIndex,
      reward: reward.reward,
      info: {
        split: e.split,
        ...(e.sampleId ? { sample_id: e.sampleId } : {}),
        ended: e.ended,
        task,
        reward_info: {
          reward: reward.reward,
          info: { r_actions: reward.actionReward, r_outputs: reward.outputReward, outputs: Object.fromEntries(reward.outputs.map((o) => [o.output, o.found])) },
          actions,
        },
      },
      traj: e.traj,
      trial,
    };
  });
}

/** Re-scores a tau-bench results file (an array of {task_id, traj, info?}); `split` is used where info.split is absent. */
export function scoreResultsFile(results: unknown, dataDir: string, split: RetailSplit, file: string): TauRunResult[] {
  if (!Array.isArray(results)) throw new RunConversionError(`${file}: expected a JSON array of episode results`);
  const episodes = results.map((r, i): EpisodeInput => {
    const where = `${file}: [${i}]`;
    const result = r as Partial<TauRunResult> | null;
    if (typeof result?.task_id !== 'number' || !Number.isInteger(result.task_id)) throw new RunConversionError(`${where}.task_id must be a task index`);
    if (!Array.isArray(result.traj)) throw new RunConversionError(`${where}.traj must be the list of messages`);
    const ownSplit = result.info?.split;
    if (ownSplit !== undefined && !RETAIL_SPLITS.includes(ownSplit)) throw new RunConversionError(`${where}.info.split must be one of ${RETAIL_SPLITS.join(', ')}`);
    return { split: ownSplit ?? split, taskIndex: result.task_id, sampleId: result.info?.sample_id, traj: result.traj, ended: result.info?.ended ?? true };
  });
  return scoreEpisodes(dataDir, episodes);
}

export interface ResultsSummary {
  episodes: number;
  tasks: number;
  /** Mean reward over episodes (tau-bench's "average reward"). */
  averageReward: number;
  /** Mean action reward over episodes. */
  actionReward: number;
  /** Mean output reward over the episodes whose task requires outputs (null when none does). */
  outputReward: number | null;
  /** pass^k for k = 1 .. the fewest trials any task has: mean over tasks of C(c, k) / C(n, k). */
  passHatK: Record<string, number>;
}

const choose = (n: number, k: number): number => {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return r;
};

export function summarizeResults(results: readonly TauRunResult[]): ResultsSummary {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const byTask = new Map<string, number[]>();
  for (const r of results) {
    const key = `${r.info.split}-${r.task_id}`;
    byTask.set(key, [...(byTask.get(key) ?? []), r.reward]);
  }
  const minTrials = byTask.size ? Math.min(...[...byTask.values()].map((v) => v.length)) : 0;
  const passHatK: Record<string, number> = {};
  for (let k = 1; k <= minTrials; k++) {
    passHatK[String(k)] = mean([...byTask.values()].map((rewards) => choose(rewards.filter((x) => x === 1).length, k) / choose(rewards.length, k)));
  }
  const withOutputs = results.filter((r) => r.info.task.outputs.length > 0);
  return {
    episodes: results.length,
    tasks: byTask.size,
    averageReward: mean(results.map((r) => r.reward)),
    actionReward: mean(results.map((r) => r.info.reward_info.info.r_actions)),
    outputReward: withOutputs.length ? mean(withOutputs.map((r) => r.info.reward_info.info.r_outputs)) : null,
    passHatK,
  };
}
