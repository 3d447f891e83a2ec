/**
 * What can be derived from the raw MultiWOZ 2.1 dialogues (test.json of ConvLab-2's copy:
 * `{ID: {goal, log: [{text, metadata, dialog_act, span_info}]}}`, user and system turns alternating): the evaluator's
 * goals, booked domains and gold states, and the flat belief states of sample100.json. Each derivation reproduces
 * the evaluator's own file exactly (test/unit/evals/multiwoz/derive.test.ts).
 */
import { normaliseSlotName, normaliseState } from './normalise';
import type { DialogueGoal, DialogueState, SampleDialogue } from './types';

export interface RawDialogue {
  goal: Record<string, unknown>;
  log: RawTurn[];
}

export interface RawTurn {
  text: string;
  /** Filled on system turns only: the belief state and bookings after the preceding user turn. */
  metadata: Record<string, RawDomainMetadata>;
}

interface RawDomainMetadata {
  /** `booked`: the bookings made so far; other keys are booking slots (day, people, stay, time). */
  book: { booked: unknown[] } & Record<string, unknown>;
  /** Search slots, e.g. `{food: 'indian', area: ''}`. */
  semi: Record<string, string>;
}

/** Values that mean "no value" in MultiWOZ 2.1 belief states. */
const EMPTY_VALUES = new Set(['', 'not mentioned', 'none']);

/** System turns are the odd positions of the log. */
function systemTurns(dialogue: RawDialogue): RawTurn[] {
  return dialogue.log.filter((_, i) => i % 2 === 1);
}

/**
 * The evaluator's booked_domains: per system turn, the domains with at least one booking so far, in metadata order.
 * Taxi bookings are left out (the evaluator's file has none; a taxi goal never requests a reference).
 */
export function deriveBookedDomains(dialogue: RawDialogue): string[][] {
  return systemTurns(dialogue).map((turn) =>
    Object.entries(turn.metadata)
      .filter(([domain, m]) => domain !== 'taxi' && m.book.booked.length > 0)
      .map(([domain]) => domain),
  );
}

/** The flat 2.1 belief state per system turn as sample100.json writes it: `"hotel-area"`, `"hotel-book day"`. */
export function deriveBeliefStates(dialogue: RawDialogue): Record<string, string>[] {
  return systemTurns(dialogue).map((turn) => {
    const state: Record<string, string> = {};
    for (const [domain, m] of Object.entries(turn.metadata)) {
      for (const [slot, value] of Object.entries(m.semi)) if (!EMPTY_VALUES.has(value)) state[`${domain}-${slot.toLowerCase()}`] = value;
      for (const [slot, value] of Object.entries(m.book)) {
        if (slot !== 'booked' && typeof value === 'string' && !EMPTY_VALUES.has(value)) state[`${domain}-book ${slot.toLowerCase()}`] = value;
      }
    }
    return state;
  });
}

/**
 * Gold dialogue states in the evaluator's format from the 2.1 belief states: per system turn
 * `{domain: {slot: value}}` with booking slots as `bookday`, `bookpeople`, …, "dontcare" left out, normalised
 * like predicted states (notes/multiwoz-evaluation.md §3.2–§3.3).
 */
export function deriveGoldStates(dialogue: RawDialogue): DialogueState[] {
  return systemTurns(dialogue).map((turn) => {
    const state: DialogueState = {};
    for (const [domain, m] of Object.entries(turn.metadata)) {
      const slots: Record<string, string> = {};
      for (const [slot, value] of Object.entries(m.semi)) if (isGoldValue(value)) slots[slot] = value;
      for (const [slot, value] of Object.entries(m.book)) if (slot !== 'booked' && isGoldValue(value)) slots[`book${slot}`] = value;
      if (Object.keys(slots).length > 0) state[domain] = slots;
    }
    return normaliseState(state);
  });
}

function isGoldValue(value: unknown): value is string {
  return typeof value === 'string' && !EMPTY_VALUES.has(value) && value !== 'dontcare';
}

/** The evaluator's goal domains, in its order. */
const GOAL_DOMAIN_ORDER = ['restaurant', 'hotel', 'attraction', 'train', 'taxi', 'police', 'hospital'];

/** Requested attributes the evaluator can check in delexicalised responses, as response tokens. */
const REQUESTABLE_TOKEN: Record<string, string> = { phone: 'PHONE', address: 'ADDRESS', postcode: 'POST', reference: 'REFERENCE', id: 'TRAINID' };

interface RawGoalDomain {
  info?: Record<string, string>;
  reqt?: string[];
  book?: Record<string, unknown>;
}

/**
 * The evaluator's goal (goals.json format): informable = the goal's `info` with normalised slot names; requestable
 * = the requested phone/address/postcode/reference/id, plus REFERENCE when a booking is asked for (for trains only
 * the reference and `trainID`), sorted; booking = the goal's `book` without its bookkeeping flags.
 */
export function deriveGoal(dialogue: RawDialogue): DialogueGoal {
  const goal: DialogueGoal = {};
  for (const domain of GOAL_DOMAIN_ORDER) {
    const raw = dialogue.goal[domain] as RawGoalDomain | undefined;
    if (!raw || Object.keys(raw).length === 0) continue;
    const requested = new Set<string>();
    if (domain === 'train') {
      if (raw.book) requested.add('REFERENCE');
      if (raw.reqt?.includes('trainID')) requested.add('TRAINID');
    } else {
      for (const slot of raw.reqt ?? []) if (REQUESTABLE_TOKEN[slot]) requested.add(REQUESTABLE_TOKEN[slot]);
      if (raw.book) requested.add('REFERENCE');
    }
    const informable: Record<string, string> = {};
    for (const [slot, value] of Object.entries(raw.info ?? {})) informable[normaliseSlotName(slot)] = value;
    const booking = raw.book ? Object.fromEntries(Object.entries(raw.book).filter(([key]) => key !== 'pre_invalid' && key !== 'invalid')) : [];
    goal[domain] = { informable, requestable: [...requested].sort(), booking };
  }
  return goal;
}

/** The goal's domains (those with content), in the goal's order. */
export function goalDomains(dialogue: RawDialogue): string[] {
  return Object.entries(dialogue.goal)
    .filter(([key, value]) => key !== 'message' && key !== 'topic' && typeof value === 'object' && value !== null && Object.keys(value).length > 0)
    .map(([key]) => key);
}

/** One dialogue in the shape of sample100.json (`goal_mwzeval` comes from the evaluator's goals). */
export function toSampleDialogue(id: string, dialogue: RawDialogue, goal: DialogueGoal): SampleDialogue {
  const beliefStates = deriveBeliefStates(dialogue);
  const turns = systemTurns(dialogue).map((system, i) => ({
    turn_idx: i,
    user: dialogue.log[2 * i].text,
    system: system.text,
    belief_state: beliefStates[i],
  }));
  const message = dialogue.goal.message;
  return {
    dialogue_id: id,
    domains: goalDomains(dialogue),
    goal_message: Array.isArray(message) ? message.map(String) : [],
    turns,
    goal_mwzeval: goal,
    booked_domains: deriveBookedDomains(dialogue),
  };
}

/** The evaluator's dialogue id: lower-case, without `.json`. */
export function evaluatorId(id: string): string {
  return id.toLowerCase().replace(/\.json$/, '');
}
