/**
 * The datasets of examples/multiwoz (datasets/*.jsonl: one dialogue per line, the shape ./environment.ts reads), derived from
 * the example's shipped data by scripts/data/multiwoz-splits.mjs:
 * - test: the paper's 100 evaluation dialogues (sample100.json), in the paper's order;
 * - train: the first 15 dialogues of train_sample.json (test dialogues outside the 100);
 * - validation: its last 5 (the acceptance test's samples).
 * Deterministic: the same data give the same bytes.
 */
import { join } from 'node:path';
import { loadSampleDialogues, MULTIWOZ_DATA_FILES, readJsonObject } from './data';
import { evaluatorId } from './derive';
import type { SampleDialogue } from './types';

export const TRAIN_DIALOGUES = 15;

/** File name → JSONL text, for train.jsonl, validation.jsonl and test.jsonl. */
export function buildDatasetSplits(dataDir: string): Map<string, string> {
  const goldFile = join(dataDir, MULTIWOZ_DATA_FILES.goldStates);
  const goldStates = readJsonObject(goldFile);
  const line = (d: SampleDialogue) => {
    const id = evaluatorId(d.dialogue_id);
    const gold = goldStates[id];
    if (!Array.isArray(gold) || gold.length !== d.turns.length) throw new Error(`${goldFile}: dialogue '${id}' needs ${d.turns.length} gold states`);
    return JSON.stringify({
      id: d.dialogue_id,
      domains: d.domains,
      turns: d.turns.map((t) => ({ user: t.user, system: t.system })),
      goal: d.goal_mwzeval,
      booked_domains: d.booked_domains,
      gold_states: gold,
    });
  };
  const jsonl = (dialogues: SampleDialogue[]) => dialogues.map(line).join('\n') + '\n';
  const training = loadSampleDialogues(join(dataDir, MULTIWOZ_DATA_FILES.trainSample));
  const test = loadSampleDialogues(join(dataDir, MULTIWOZ_DATA_FILES.sample100));
  return new Map([
    ['train.jsonl', jsonl(training.slice(0, TRAIN_DIALOGUES))],
    ['validation.jsonl', jsonl(training.slice(TRAIN_DIALOGUES))],
    ['test.jsonl', jsonl(test)],
  ]);
}
