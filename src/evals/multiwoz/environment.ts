/**
 * The MultiWOZ environment (docs/environments.md): one gold dialogue per task sample, replayed turn by turn with
 * teacher forcing. Each turn the system gets the gold history (user and clerk turns so far, as in the corpus) and
 * the current user utterance; its reply and the turn's tool calls are collected. At the end the dialogue is scored
 * with the standard evaluator (Inform, Success, joint goal accuracy of the state read off the tool calls) and the
 * two verbal losses are written (./losses.ts).
 *
 * A dataset line (examples/multiwoz/datasets/*.jsonl, built by scripts/data/multiwoz-splits.mjs):
 *   { "id": "MUL0389", "turns": [{ "user", "system" }], "goal": {...}, "booked_domains": [[...]], "gold_states": [{...}] }
 */
import type { AgentCall } from '../../core/engine/types';
import type { MultiwozDb } from './db';
import { evaluatorId } from './derive';
import { evaluateMultiwoz, judgeDialogue } from './evaluator';
import { checkTurnStates, informSuccessFacts, informSuccessLossText, jgaLossText } from './losses';
import { normaliseState } from './normalise';
import { predictedDialogue, toolCallsOf } from './runConversion';
import type { ToolCallRecord } from './state';
import type { DialogueGoal, DialogueState } from './types';

/** A task sample of the MultiWOZ datasets, checked. */
export interface DialogueTask {
  id: string;
  turns: Array<{ user: string; system: string }>;
  goal: DialogueGoal;
  bookedDomains: string[][];
  goldStates: DialogueState[];
}

/** The task fields of one turn: what the agents' `task.<field>` inputs can name. */
export interface TurnFields {
  dialogue_id: string;
  /** 1-based. */
  turn: number;
  /** The gold dialogue before this turn, one `User: …` / `Clerk: …` line each. */
  history: string;
  /** The user's utterance of this turn. */
  user: string;
}

export const FIRST_TURN_HISTORY = '(none: the dialogue starts with this message)';

/** The environment object (the engine's Environment contract, without importing the engine). */
export interface MultiwozEnvironment {
  reset(task: { id: string; fields: Record<string, unknown> }): Promise<{ input: TurnFields }>;
  step(output: string, turn: { turn: number; calls: Array<Pick<AgentCall, 'toolCalls'>> }): Promise<{ done: boolean; input?: TurnFields }>;
  evaluate(): Promise<{ metrics: Record<string, number>; lossFields: Record<string, unknown> }>;
}

export function createMultiwozEnvironment(db: MultiwozDb): MultiwozEnvironment {
  let task: DialogueTask | undefined;
  const responses: string[] = [];
  const toolCalls: ToolCallRecord[][] = [];

  const turnFields = (t: number): TurnFields => ({
    dialogue_id: task!.id,
    turn: t + 1,
    history: historyText(task!.turns.slice(0, t)),
    user: task!.turns[t].user,
  });

  return {
    async reset(sample) {
      task = readDialogueTask(sample);
      responses.length = 0;
      toolCalls.length = 0;
      return { input: turnFields(0) };
    },
    async step(output, turn) {
      if (!task) throw new Error('step() before reset()');
      responses.push(output);
      toolCalls.push(toolCallsOf(turn.calls));
      if (responses.length >= task.turns.length) return { done: true };
      return { done: false, input: turnFields(responses.length) };
    },
    async evaluate() {
      if (!task) throw new Error('evaluate() before reset()');
      return evaluateDialogue(task, responses, toolCalls, db);
    },
  };
}

/** Scores a (possibly cut short) run of one dialogue: metrics in [0, 1] and the two losses' fields. */
export function evaluateDialogue(task: DialogueTask, responses: string[], toolCallsPerTurn: ToolCallRecord[][], db: MultiwozDb) {
  const id = evaluatorId(task.id);
  const predicted = predictedDialogue(responses, toolCallsPerTurn);
  const data = { goals: { [id]: task.goal }, goldStates: { [id]: task.goldStates }, bookedDomains: { [id]: task.bookedDomains }, db };
  const scores = evaluateMultiwoz({ [id]: predicted }, data);
  const judgement = judgeDialogue(id, predicted, data);
  const states = predicted.map((turn) => normaliseState(turn.state!));
  const checks = checkTurnStates(states, task.goldStates, task.turns.map((t) => t.user));
  const facts = informSuccessFacts(task.goal, judgement, states.at(-1) ?? {}, db);
  const inform = scores.inform.total / 100;
  const success = scores.success.total / 100;
  const jga = checks.length ? checks.filter((c) => c.correct).length / checks.length : 0;
  return {
    metrics: { inform, success, jga, turns: responses.length, score: (inform + success + jga) / 3 },
    lossFields: {
      jga_loss: jgaLossText(checks) || 'none: the state was right after every turn.',
      inform_success_loss: informSuccessLossText(facts, judgement) || 'none: every domain was informed correctly and got the information asked for.',
      state_errors: checks.filter((c) => !c.correct).map(({ turn, predicted: p, gold, falsePositives, falseNegatives }) => ({ turn: turn + 1, predicted: p, gold, falsePositives, falseNegatives })),
      requested_queries: facts.requestedQueries,
      provided_queries: facts.providedQueries,
      requested_information: facts.requestedInformation,
      provided_information: facts.providedInformation,
      responses,
    },
  };
}

export function historyText(turns: Array<{ user: string; system: string }>): string {
  if (turns.length === 0) return FIRST_TURN_HISTORY;
  return turns.map((t) => `User: ${t.user}\nClerk: ${t.system}`).join('\n');
}

/** Checks a task sample's fields; errors name the sample and the field at fault. */
export function readDialogueTask(sample: { id: string; fields: Record<string, unknown> }): DialogueTask {
  const f = sample.fields;
  const where = (field: string) => `sample "${sample.id}", field "${field}"`;
  const turns = f.turns;
  if (!Array.isArray(turns) || turns.length === 0) throw new Error(`${where('turns')}: expected a non-empty list of { user, system }`);
  turns.forEach((t, i) => {
    if (typeof t?.user !== 'string' || typeof t?.system !== 'string') throw new Error(`${where('turns')}[${i}]: expected { "user": string, "system": string }`);
  });
  if (!isObject(f.goal)) throw new Error(`${where('goal')}: expected the evaluator's goal { domain: { informable, requestable } }`);
  const booked = f.booked_domains;
  if (!Array.isArray(booked) || booked.length !== turns.length) throw new Error(`${where('booked_domains')}: expected one list of domains per turn (${turns.length})`);
  const gold = f.gold_states;
  if (!Array.isArray(gold) || gold.length !== turns.length || !gold.every(isObject)) {
    throw new Error(`${where('gold_states')}: expected one state { domain: { slot: value } } per turn (${turns.length})`);
  }
  return { id: String(f.id ?? sample.id), turns, goal: f.goal as DialogueGoal, bookedDomains: booked as string[][], goldStates: gold as DialogueState[] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
