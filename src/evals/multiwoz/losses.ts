/**
 * The two verbal losses of the MultiWOZ example (GBC paper): a turn-level JGA loss (per turn, the predicted dialogue
 * state against the ground truth, with its false positives and false negatives) and a dialogue-level Inform &
 * Success loss (the queries the system answered against the ones the user asked for, and the information it
 * provided against the information the user requested). Each is a list of facts in words, '' when nothing is wrong.
 */
import type { DialogueJudgement } from './evaluator';
import { partialRatio } from './fuzzy';
import type { MultiwozDb } from './db';
import { isVenueDomain } from './db';
import type { DialogueGoal, DialogueState } from './types';

/** One turn's state compared with the gold state, with the evaluator's rule (values match when partial_ratio > 95). */
export interface TurnStateCheck {
  /** 0-based turn index. */
  turn: number;
  user: string;
  predicted: DialogueState;
  gold: DialogueState;
  /** `domain-slot=value` set by the system but absent from the ground truth, or with another value. */
  falsePositives: string[];
  /** `domain-slot=value` of the ground truth that the system's state lacks or has with another value. */
  falseNegatives: string[];
  /** The joint-goal-accuracy verdict: same slots, every gold value matched. */
  correct: boolean;
}

/** Compares each turn's (normalised) predicted state with the gold state, as the evaluator's DST does. */
export function checkTurnStates(predicted: DialogueState[], gold: DialogueState[], users: string[]): TurnStateCheck[] {
  return predicted.map((state, t) => {
    const hyp = flatten(state);
    const ref = flatten(gold[t] ?? {});
    const falseNegatives: string[] = [];
    const falsePositives: string[] = [];
    for (const [key, value] of ref) {
      const h = hyp.get(key);
      if (h === undefined || partialRatio(h, value) <= 95) falseNegatives.push(`${key}=${value}`);
    }
    for (const [key, value] of hyp) {
      const g = ref.get(key);
      if (g === undefined || partialRatio(value, g) <= 95) falsePositives.push(`${key}=${value}`);
    }
    const sameKeys = hyp.size === ref.size && [...hyp.keys()].every((key) => ref.has(key));
    return { turn: t, user: users[t] ?? '', predicted: state, gold: gold[t] ?? {}, falsePositives, falseNegatives, correct: sameKeys && falseNegatives.length === 0 };
  });
}

/** The turn-level JGA loss: one paragraph per turn whose state is wrong. */
export function jgaLossText(checks: TurnStateCheck[]): string {
  return checks
    .filter((c) => !c.correct)
    .map(
      (c) =>
        `Turn ${c.turn + 1} (user: "${c.user}"): predicted state ${stateText(c.predicted)}; ground truth ${stateText(c.gold)}; ` +
        `false positives (set by the tool calls but not in the ground truth, or with another value): ${c.falsePositives.join(', ') || 'none'}; ` +
        `false negatives (in the ground truth but missing from the tool calls, or with another value): ${c.falseNegatives.join(', ') || 'none'}.`,
    )
    .join('\n');
}

/** Per goal domain: what the user asked for and what the system gave, in words. */
export interface InformSuccessFacts {
  /** Domain → the goal's constraints (`food=indian`): the query the user wants answered. */
  requestedQueries: Record<string, string>;
  /** Domain → the venues the system last offered and the query that found them; 'nothing offered' if none. */
  providedQueries: Record<string, string>;
  /** Domain → the information the user asked for (phone, address, postcode, reference, train id). */
  requestedInformation: Record<string, string[]>;
  /** Domain → the information the replies gave (as placeholders). */
  providedInformation: Record<string, string[]>;
}

const INFO_WORDS: Record<string, string> = {
  PHONE: 'phone number',
  ADDRESS: 'address',
  POST: 'postcode',
  REFERENCE: 'booking reference',
  TRAINID: 'train id',
};

export function informSuccessFacts(goal: DialogueGoal, judgement: DialogueJudgement, finalState: DialogueState, db: MultiwozDb): InformSuccessFacts {
  const facts: InformSuccessFacts = { requestedQueries: {}, providedQueries: {}, requestedInformation: {}, providedInformation: {} };
  for (const [domain, g] of Object.entries(goal)) {
    facts.requestedQueries[domain] = slotsText(g.informable);
    const offered = judgement.offered[domain] ?? [];
    facts.providedQueries[domain] = offered.length
      ? `offered ${venueNames(db, domain, offered)} (found with ${slotsText(finalState[domain] ?? {})})`
      : `nothing offered${finalState[domain] ? ` (state: ${slotsText(finalState[domain])})` : ''}`;
    facts.requestedInformation[domain] = g.requestable.map((t) => INFO_WORDS[t] ?? t.toLowerCase());
    facts.providedInformation[domain] = (judgement.provided[domain] ?? []).map((t) => INFO_WORDS[t] ?? t.toLowerCase());
  }
  return facts;
}

/** The dialogue-level Inform & Success loss: one line per goal domain that failed. */
export function informSuccessLossText(facts: InformSuccessFacts, judgement: DialogueJudgement): string {
  const lines: string[] = [];
  for (const domain of Object.keys(facts.requestedQueries)) {
    const informed = judgement.inform[domain];
    const succeeded = judgement.success?.[domain] ?? false;
    if (informed && succeeded) continue;
    const missing = facts.requestedInformation[domain].filter((info) => !facts.providedInformation[domain].includes(info));
    lines.push(
      `${domain}: inform ${informed ? 'ok' : 'FAILED'}, success ${succeeded ? 'ok' : 'FAILED'}. ` +
        `Requested query: ${facts.requestedQueries[domain]}; provided query: ${facts.providedQueries[domain]}. ` +
        `Requested information: ${facts.requestedInformation[domain].join(', ') || 'none'}; ` +
        `provided information: ${facts.providedInformation[domain].join(', ') || 'none'}` +
        (missing.length ? ` (missing: ${missing.join(', ')}).` : '.'),
    );
  }
  if (lines.length && !judgement.inform.total) {
    lines.push('Success only counts when every domain was informed correctly: a venue matching all the user\'s constraints must be offered by name (as a [domain_name] placeholder).');
  }
  return lines.join('\n');
}

function flatten(state: DialogueState): Map<string, string> {
  const flat = new Map<string, string>();
  for (const [domain, slots] of Object.entries(state)) for (const [slot, value] of Object.entries(slots)) flat.set(`${domain}-${slot}`, value);
  return flat;
}

function stateText(state: DialogueState): string {
  const flat = [...flatten(state)].map(([k, v]) => `${k}=${v}`);
  return flat.length ? `{${flat.join(', ')}}` : '{} (empty)';
}

function slotsText(slots: Record<string, string>): string {
  const entries = Object.entries(slots).map(([k, v]) => `${k}=${v}`);
  return entries.length ? entries.join(', ') : 'no constraints';
}

function venueNames(db: MultiwozDb, domain: string, ids: string[]): string {
  if (!isVenueDomain(domain)) return ids.join(', ');
  const idKey = domain === 'train' ? 'trainid' : 'id';
  const shown = ids.slice(0, 3).map((id) => db.records[domain].find((r) => r[idKey] === id)?.[domain === 'train' ? 'trainid' : 'name'] ?? id);
  return shown.join(', ') + (ids.length > 3 ? ` and ${ids.length - 3} more` : '');
}
