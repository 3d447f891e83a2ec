/**
 * The data the MultiWOZ example ships in examples/multiwoz/data/ (how it is made: scripts/data/multiwoz-extract.mjs),
 * and loaders that name the file at fault when something is wrong.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMultiwozDb, type MultiwozDb } from './db';
import type { DialogueGoal, DialogueState, SampleDialogue } from './types';

/** File names inside the data folder. */
export const MULTIWOZ_DATA_FILES = {
  /** The databases and their MIT licence. */
  db: 'db',
  /** Evaluator goals of the 1000 test dialogues. */
  goals: 'goals_test.json',
  /** Gold dialogue states per system turn (MultiWOZ 2.1 labels, evaluator format). */
  goldStates: 'gold_states_test.json',
  /** Domains booked so far, per system turn (derived from the dialogues' metadata). */
  bookedDomains: 'booked_domains_test.json',
  /** The GBC paper's 100 evaluation dialogues. */
  sample100: 'sample100.json',
  /** Test dialogues outside the 100, for optimising prompts. */
  trainSample: 'train_sample.json',
} as const;

/** Everything the evaluator reads. */
export interface MultiwozEvalData {
  goals: Record<string, DialogueGoal>;
  goldStates: Record<string, DialogueState[]>;
  bookedDomains: Record<string, string[][]>;
  db: MultiwozDb;
}

export function loadMultiwozEvalData(dataDir: string): MultiwozEvalData {
  return {
    goals: readJsonObject(join(dataDir, MULTIWOZ_DATA_FILES.goals)) as Record<string, DialogueGoal>,
    goldStates: readJsonObject(join(dataDir, MULTIWOZ_DATA_FILES.goldStates)) as Record<string, DialogueState[]>,
    bookedDomains: readJsonObject(join(dataDir, MULTIWOZ_DATA_FILES.bookedDomains)) as Record<string, string[][]>,
    db: loadMultiwozDb(join(dataDir, MULTIWOZ_DATA_FILES.db)),
  };
}

/** sample100.json or train_sample.json: `{ note, dialogues: [...] }`. */
export function loadSampleDialogues(file: string): SampleDialogue[] {
  const data = readJsonObject(file) as { dialogues?: unknown };
  if (!Array.isArray(data.dialogues)) throw new Error(`${file}: expected { "dialogues": [...] }`);
  return data.dialogues as SampleDialogue[];
}

/** Reads a JSON file whose top level must be an object; errors name the file. */
export function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${file}: expected a JSON object at the top level`);
  return data as Record<string, unknown>;
}
