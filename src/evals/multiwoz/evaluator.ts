/**
 * Inform, Success and DST of MultiWOZ predictions, computed as the standard evaluator mwzeval does
 * (notes/multiwoz-evaluation.md §2–§10; section numbers below refer to that note).
 *
 * Scales are the evaluator's: Inform and Success in percent with one decimal (Python's half-even rounding);
 * DST joint accuracy and slot F1 in percent, slot precision and recall as fractions 0–1, unrounded.
 * DST compares with the shipped gold states, which carry MultiWOZ 2.1 labels (mwzeval uses 2.2 labels).
 */
import type { MultiwozEvalData } from './data';
import { isVenueDomain } from './db';
import { partialRatio } from './fuzzy';
import { MultiwozInputError, normaliseResponse, normaliseState } from './normalise';
import type { DialogueGoal, DialogueState, PredictedTurn, Predictions } from './types';

export interface DstScores {
  /** Percent of turns whose whole state matches. */
  jointAccuracy: number;
  /** Percent. */
  slotF1: number;
  /** Fraction 0–1. */
  slotPrecision: number;
  /** Fraction 0–1. */
  slotRecall: number;
}

export interface MultiwozScores {
  /** Percent, one decimal: `total` and one key per goal domain present. */
  inform: Record<string, number>;
  success: Record<string, number>;
  /** null when some turn has no `state` (the evaluator then reports no DST). */
  dst: DstScores | null;
  /** Dialogues evaluated. */
  dialogues: number;
  /** What the evaluator substituted or estimated, in words (e.g. "active domains estimated from the states"). */
  notes: string[];
}

/** A turn after normalisation, ready for scoring. */
interface NormalisedTurn {
  response: string;
  state: DialogueState;
  activeDomains: string[];
}

const VENUE_MENTION_DOMAINS = new Set(['restaurant', 'hotel', 'attraction']);
const REQUESTABLE_TOKENS = ['PHONE', 'ADDRESS', 'POST', 'REFERENCE', 'TRAINID'];
const DOMAINS_WITHOUT_DB = new Set(['taxi', 'police', 'hospital']);

/**
 * Scores predictions (the evaluator's input format, §2). `predictions` is checked first: malformed input throws a
 * MultiwozInputError naming the dialogue and turn. The input is not modified.
 */
export function evaluateMultiwoz(predictions: unknown, data: MultiwozEvalData): MultiwozScores {
  const checked = checkPredictions(predictions);
  const notes: string[] = [];
  const ids = Object.keys(checked);

  // §4.1: states are all-or-nothing; without them Inform/Success use the gold states and there is no DST.
  const hasStates = ids.every((id) => checked[id].every((turn) => turn.state !== undefined));
  if (!hasStates) notes.push('some turns have no state: gold states (MultiWOZ 2.1 labels) stand in for all of them, and DST is not computed');
  const states: Record<string, DialogueState[]> = {};
  for (const id of ids) {
    if (hasStates) {
      states[id] = checked[id].map((turn, t) => {
        try {
          return normaliseState(turn.state!);
        } catch (err) {
          // The evaluator fails on such values too (e.g. a pm time whose hour is not a number).
          if (err instanceof MultiwozInputError) throw new MultiwozInputError(`dialogue '${id}', turn ${t}: ${err.message}`);
          throw err;
        }
      });
    } else {
      const gold = goldStatesOf(id, data);
      if (checked[id].length > gold.length) {
        throw new MultiwozInputError(`dialogue '${id}': ${checked[id].length} predicted turns but the gold dialogue has ${gold.length}`);
      }
      states[id] = checked[id].map((_, t) => gold[t]);
    }
  }

  // §4.2: active domains are all-or-nothing too; if any turn lacks them they are estimated for all turns.
  const hasActiveDomains = ids.every((id) => checked[id].every((turn) => turn.active_domains !== undefined));
  if (!hasActiveDomains) notes.push('some turns have no active_domains: they are estimated from the states for all turns');

  const count: Record<string, number> = {};
  const informHits: Record<string, number> = {};
  const successHits: Record<string, number> = {};
  for (const id of ids) {
    const goal = Object.hasOwn(data.goals, id) ? data.goals[id] : undefined;
    if (!goal) throw new MultiwozInputError(`dialogue '${id}' is not a MultiWOZ test dialogue (ids are lower-case without .json, e.g. 'sng0073')`);
    const booked = Object.hasOwn(data.bookedDomains, id) ? data.bookedDomains[id] : undefined;
    if (!booked) throw new MultiwozInputError(`dialogue '${id}': no booked domains in the evaluation data`);
    const activeDomains = hasActiveDomains ? checked[id].map((turn) => turn.active_domains!) : estimateActiveDomains(states[id]);
    const turns: NormalisedTurn[] = checked[id].map((turn, t) => ({
      response: normaliseResponse(turn.response),
      state: states[id][t],
      activeDomains: activeDomains[t],
    }));
    const result = scoreDialogue(goal, booked, turns, data);
    for (const key of [...Object.keys(goal), 'total']) {
      count[key] = (count[key] ?? 0) + 1;
      informHits[key] = (informHits[key] ?? 0) + (result.inform[key] ? 1 : 0);
      successHits[key] = (successHits[key] ?? 0) + (result.success?.[key] ? 1 : 0);
    }
  }

  const inform: Record<string, number> = {};
  const success: Record<string, number> = {};
  for (const key of Object.keys(count)) {
    inform[key] = percentOneDecimal(informHits[key], count[key]);
    success[key] = percentOneDecimal(successHits[key], count[key]);
  }
  const dst = hasStates ? dstScores(ids, states, data) : null;
  return { inform, success, dst, dialogues: ids.length, notes };
}

// ---------------------------------------------------------------------------------------------------------------
// §7–§8: one dialogue.

interface DialogueResult {
  /** Per goal domain and `total`. */
  inform: Record<string, boolean>;
  /** Only when inform.total is true (otherwise every success counts 0). */
  success: Record<string, boolean> | null;
  /** Per goal domain: the database ids (train ids for trains) of the venues last offered. */
  offered: Record<string, string[]>;
  /** Per goal domain: the requestable tokens (PHONE, ADDRESS, POST, REFERENCE, TRAINID) the responses gave. */
  provided: Record<string, string[]>;
}

/** How the evaluator judged one dialogue, with what it saw: for explaining a failure (verbal losses). */
export type DialogueJudgement = DialogueResult;

/**
 * One dialogue judged exactly as evaluateMultiwoz judges it (its states normalised, active domains estimated when
 * the turns have none), with the venues offered and the information provided per goal domain.
 */
export function judgeDialogue(id: string, turns: PredictedTurn[], data: MultiwozEvalData): DialogueJudgement {
  checkPredictions({ [id]: turns });
  const goal = Object.hasOwn(data.goals, id) ? data.goals[id] : undefined;
  if (!goal) throw new MultiwozInputError(`dialogue '${id}' has no goal in the evaluation data`);
  const booked = Object.hasOwn(data.bookedDomains, id) ? data.bookedDomains[id] : undefined;
  if (!booked) throw new MultiwozInputError(`dialogue '${id}': no booked domains in the evaluation data`);
  const hasStates = turns.every((turn) => turn.state !== undefined);
  const states = hasStates ? turns.map((turn) => normaliseState(turn.state!)) : turns.map((_, t) => goldStatesOf(id, data)[t]);
  const hasActive = turns.every((turn) => turn.active_domains !== undefined);
  const active = hasActive ? turns.map((turn) => turn.active_domains!) : estimateActiveDomains(states);
  return scoreDialogue(
    goal,
    booked,
    turns.map((turn, t) => ({ response: normaliseResponse(turn.response), state: states[t], activeDomains: active[t] })),
    data,
  );
}

function scoreDialogue(goal: DialogueGoal, booked: string[][], turns: NormalisedTurn[], data: MultiwozEvalData): DialogueResult {
  const goalDomains = Object.keys(goal);
  const offered: Record<string, string[]> = {};
  const provided: Record<string, Set<string>> = {};
  for (const d of goalDomains) {
    offered[d] = [];
    provided[d] = new Set();
  }

  const turnCount = Math.min(turns.length, booked.length);
  for (let t = 0; t < turnCount; t++) {
    const { response, state, activeDomains } = turns[t];
    for (const d of goalDomains) {
      if (!activeDomains.includes(d)) continue;
      const venueMention = (VENUE_MENTION_DOMAINS.has(d) && response.includes('NAME')) || (d === 'train' && response.includes('TRAINID'));
      if (venueMention) {
        const matching = Object.hasOwn(state, d) ? data.db.query(d, state[d]) : [];
        // A new offer replaces the old one unless the old one is still consistent with it.
        if (offered[d].length === 0 || offered[d].some((venue) => !matching.includes(venue))) offered[d] = matching;
      }
      for (const token of REQUESTABLE_TOKENS) {
        if (!response.includes(token)) continue;
        if (token === 'REFERENCE' && !booked[t].includes(d)) continue;
        provided[d].add(token);
      }
    }
  }

  const inform: Record<string, boolean> = {};
  for (const d of goalDomains) {
    const matchedWithoutOffer =
      Object.hasOwn(goal[d].informable, 'name') ||
      DOMAINS_WITHOUT_DB.has(d) ||
      (d === 'train' && offered.train.length === 0 && !goal[d].requestable.includes('TRAINID'));
    if (matchedWithoutOffer) {
      inform[d] = true;
    } else if (isVenueDomain(d) && offered[d].length > 0) {
      const goalVenues = new Set(data.db.query(d, goal[d].informable));
      inform[d] = offered[d].every((venue) => goalVenues.has(venue));
    } else {
      inform[d] = false;
    }
  }
  inform.total = goalDomains.every((d) => inform[d]);
  const seen = { offered, provided: Object.fromEntries(goalDomains.map((d) => [d, [...provided[d]]])) };
  if (!inform.total) return { inform, success: null, ...seen };

  const success: Record<string, boolean> = {};
  for (const d of goalDomains) success[d] = goal[d].requestable.every((token) => provided[d].has(token));
  success.total = goalDomains.every((d) => success[d]);
  return { inform, success, ...seen };
}

/** §4.2: the active domain of each turn, estimated from how the state changes. */
export function estimateActiveDomains(states: DialogueState[]): string[][] {
  let current: string | null = null;
  let oldState: DialogueState = {};
  let oldChanged: string[] = [];
  return states.map((state) => {
    const changed = Object.keys(state).filter((d) => {
      const before = oldState[d] ?? {};
      return Object.entries(state[d]).some(([slot, value]) => !Object.hasOwn(before, slot) || before[slot] !== value);
    });
    if (changed.length === 0) {
      if (current === null) return [];
      if (oldChanged.length > 1) {
        const candidates = oldChanged.filter((d) => Object.hasOwn(state, d) && d !== current);
        if (candidates.length > 0) current = candidates[0];
      }
    } else if (current === null || !changed.includes(current)) {
      // The changed domain with the most slots; the first one on a tie.
      let best = changed[0];
      for (const d of changed) if (Object.keys(state[d]).length > Object.keys(state[best]).length) best = d;
      current = best;
    }
    oldState = state;
    oldChanged = changed;
    return [current];
  });
}

/** Python's round(100 · hits / count, 1), exactly (integer arithmetic; valid for count < 2000 — §9). */
export function percentOneDecimal(hits: number, count: number): number {
  if (count >= 2000) return pythonRoundOneDecimal((100 * hits) / count);
  const numerator = 1000 * hits;
  let q = Math.floor(numerator / count);
  const r = numerator - q * count;
  if (2 * r > count || (2 * r === count && q % 2 === 1)) q += 1;
  return q / 10;
}

/** Half-even rounding of a double to one decimal for large counts (ties are then practically impossible). */
function pythonRoundOneDecimal(x: number): number {
  const scaled = x * 10;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  return rounded / 10;
}

// ---------------------------------------------------------------------------------------------------------------
// §10: DST against the shipped gold states.

function dstScores(ids: string[], states: Record<string, DialogueState[]>, data: MultiwozEvalData): DstScores {
  let turns = 0;
  let jointMatches = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const id of ids) {
    const gold = goldStatesOf(id, data);
    const predicted = states[id];
    if (predicted.length > gold.length) {
      throw new MultiwozInputError(`dialogue '${id}': ${predicted.length} predicted turns but the gold dialogue has ${gold.length}`);
    }
    predicted.forEach((state, t) => {
      const hyp = flatten(state);
      const ref = flatten(gold[t]);
      let allGoldMatch = true;
      for (const [key, value] of ref) {
        const h = hyp.get(key);
        if (h === undefined || partialRatio(h, value) <= 95) {
          fn++;
          allGoldMatch = false;
        }
      }
      for (const [key, value] of hyp) {
        const g = ref.get(key);
        if (g !== undefined && partialRatio(value, g) > 95) tp++;
        else fp++;
      }
      const sameKeys = hyp.size === ref.size && [...hyp.keys()].every((key) => ref.has(key));
      if (sameKeys && allGoldMatch) jointMatches++;
      turns++;
    });
  }
  const slotPrecision = tp / (tp + fp + 1e-10);
  const slotRecall = tp / (tp + fn + 1e-10);
  return {
    jointAccuracy: (jointMatches / (turns + 1e-10)) * 100,
    slotF1: ((2 * slotPrecision * slotRecall) / (slotPrecision + slotRecall + 1e-10)) * 100,
    slotPrecision,
    slotRecall,
  };
}

function flatten(state: DialogueState): Map<string, string> {
  const flat = new Map<string, string>();
  for (const [domain, slots] of Object.entries(state)) for (const [slot, value] of Object.entries(slots)) flat.set(`${domain}-${slot}`, value);
  return flat;
}

function goldStatesOf(id: string, data: MultiwozEvalData): DialogueState[] {
  const gold = Object.hasOwn(data.goldStates, id) ? data.goldStates[id] : undefined;
  if (!gold) throw new MultiwozInputError(`dialogue '${id}': no gold states in the evaluation data`);
  return gold;
}

// ---------------------------------------------------------------------------------------------------------------
// Input checks (§2): a wrong shape is reported with the dialogue and turn, before anything is computed.

function checkPredictions(input: unknown): Predictions {
  if (!isPlainObject(input)) throw new MultiwozInputError('predictions: expected a JSON object mapping dialogue id → list of turns');
  for (const [id, turns] of Object.entries(input)) {
    if (!Array.isArray(turns)) throw new MultiwozInputError(`dialogue '${id}': expected a list of turns`);
    turns.forEach((turn: unknown, t) => {
      const where = `dialogue '${id}', turn ${t}`;
      if (!isPlainObject(turn)) throw new MultiwozInputError(`${where}: expected an object with "response"`);
      if (typeof turn.response !== 'string') throw new MultiwozInputError(`${where}: "response" must be a string`);
      if (turn.state !== undefined) checkState(turn.state, where);
      const active = turn.active_domains;
      if (active !== undefined && !(Array.isArray(active) && active.every((d) => typeof d === 'string'))) {
        throw new MultiwozInputError(`${where}: "active_domains" must be a list of domain names`);
      }
    });
  }
  return input as Predictions;
}

function checkState(state: unknown, where: string): void {
  if (!isPlainObject(state)) throw new MultiwozInputError(`${where}: "state" must be an object {domain: {slot: value}}`);
  for (const [domain, slots] of Object.entries(state)) {
    if (!isPlainObject(slots)) throw new MultiwozInputError(`${where}: state.${domain} must be an object {slot: value}`);
    for (const [slot, value] of Object.entries(slots)) {
      if (typeof value !== 'string') throw new MultiwozInputError(`${where}: state.${domain}.${slot} must be a string`);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
