/** Data shapes of the MultiWOZ benchmark, in the standard evaluator's (mwzeval's) formats. */

/** `{domain: {slot: value}}`, e.g. `{ restaurant: { food: 'indian', area: 'centre' } }`. Key order matters (§4.2). */
export type DialogueState = Record<string, Record<string, string>>;

/** One goal domain as the evaluator reads it (goals_test.json). */
export interface GoalDomain {
  /** Constraints the offered venue must satisfy, e.g. `{ food: 'indian', area: 'centre' }`. */
  informable: Record<string, string>;
  /** What the user asked for, as response tokens: PHONE, ADDRESS, POST, REFERENCE, TRAINID. */
  requestable: string[];
  /** Booking details (the evaluator does not use them). */
  booking: unknown;
}

/** A dialogue's goal: domain → goal domain. */
export type DialogueGoal = Record<string, GoalDomain>;

/** One system turn of a predictions file (the evaluator's input format). */
export interface PredictedTurn {
  /** The delexicalised system reply, e.g. "[restaurant_name] is in the [area]". */
  response: string;
  state?: DialogueState;
  active_domains?: string[];
}

/** A predictions file: lower-case dialogue id (no `.json`) → one turn per gold system turn. */
export type Predictions = Record<string, PredictedTurn[]>;

/** One dialogue of sample100.json / train_sample.json. */
export interface SampleDialogue {
  /** Upper-case id as in MultiWOZ, e.g. "MUL1935"; the evaluator's id is its lower-case form. */
  dialogue_id: string;
  domains: string[];
  goal_message: string[];
  turns: SampleTurn[];
  goal_mwzeval: DialogueGoal;
  /** Per system turn, the domains booked so far (the evaluator's booked_domains). */
  booked_domains: string[][];
}

export interface SampleTurn {
  turn_idx: number;
  user: string;
  system: string;
  /** MultiWOZ 2.1 belief state after the user turn, flat: `"restaurant-food": "indian"`, `"hotel-book day": …`. */
  belief_state: Record<string, string>;
}
