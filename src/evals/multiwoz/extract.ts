/**
 * Builds the MultiWOZ example's data folder (examples/multiwoz/data/) from the shared MultiWOZ data
 * (`../shared/data/multiwoz`): copies the databases, licences and the paper's 100-dialogue sample, and derives the
 * evaluator's goals, gold states and booked domains, and a training sample, from the test dialogues (test.json.zip).
 * Run it with `node scripts/data/multiwoz-extract.mjs`. Not part of the CLI bundle (it needs the zip reader).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { MULTIWOZ_DATA_FILES } from './data';
import { deriveBookedDomains, deriveGoal, deriveGoldStates, evaluatorId, toSampleDialogue, type RawDialogue } from './derive';

/** How many dialogues the training sample holds. */
export const TRAIN_SAMPLE_SIZE = 20;

/** The shared files copied verbatim (paths relative to both folders). */
const COPIED_FILES = [
  'db/LICENSE',
  'db/attraction_db.json',
  'db/hospital_db.json',
  'db/hotel_db.json',
  'db/police_db.json',
  'db/restaurant_db.json',
  'db/taxi_db.json',
  'db/train_db.json',
  'LICENSE-ConvLab-2',
  MULTIWOZ_DATA_FILES.sample100,
];

/** Reads test.json out of test.json.zip: `{ID: {goal, log}}` in MultiWOZ order. */
export function readTestDialogues(sharedMultiwozDir: string): Record<string, RawDialogue> {
  const zipFile = join(sharedMultiwozDir, 'test.json.zip');
  const entries = unzipSync(new Uint8Array(readFileSync(zipFile)), { filter: (entry) => entry.name === 'test.json' });
  if (!entries['test.json']) throw new Error(`${zipFile}: has no test.json`);
  return JSON.parse(strFromU8(entries['test.json'])) as Record<string, RawDialogue>;
}

/** Every file of the data folder: relative path → content. Pure; writing is `writeExampleData`. */
export function buildExampleData(sharedMultiwozDir: string): Map<string, string | Buffer> {
  const files = new Map<string, string | Buffer>();
  for (const file of COPIED_FILES) files.set(file, readFileSync(join(sharedMultiwozDir, file)));

  const dialogues = readTestDialogues(sharedMultiwozDir);
  const goals: Record<string, unknown> = {};
  const goldStates: Record<string, unknown> = {};
  const booked: Record<string, unknown> = {};
  for (const [id, dialogue] of Object.entries(dialogues)) {
    goals[evaluatorId(id)] = deriveGoal(dialogue);
    goldStates[evaluatorId(id)] = deriveGoldStates(dialogue);
    booked[evaluatorId(id)] = deriveBookedDomains(dialogue);
  }
  files.set(MULTIWOZ_DATA_FILES.goals, JSON.stringify(goals, null, 1) + '\n');
  files.set(MULTIWOZ_DATA_FILES.goldStates, JSON.stringify(goldStates) + '\n');
  files.set(MULTIWOZ_DATA_FILES.bookedDomains, JSON.stringify(booked) + '\n');

  // The training sample: the next dialogues of the paper's seeded shuffle, right after the 100 it evaluates on.
  const order = JSON.parse(readFileSync(join(sharedMultiwozDir, 'paper_sample100_ids.json'), 'utf8')) as { shuffled_999: string[]; sample_100: string[] };
  const evaluated = new Set(order.sample_100);
  const trainIds = order.shuffled_999.filter((id) => !evaluated.has(id)).slice(0, TRAIN_SAMPLE_SIZE);
  const trainSample = {
    note:
      `${TRAIN_SAMPLE_SIZE} MultiWOZ 2.1 test dialogues outside the paper's 100 (the next ones in its seeded shuffle), for optimising ` +
      'prompts. Same shape as sample100.json; derived by scripts/data/multiwoz-extract.mjs from test.json.zip (ConvLab-2 copy).',
    dialogues: trainIds.map((id) => toSampleDialogue(id, dialogues[id], goals[evaluatorId(id)] as ReturnType<typeof deriveGoal>)),
  };
  files.set(MULTIWOZ_DATA_FILES.trainSample, JSON.stringify(trainSample, null, 1) + '\n');
  return files;
}

/** Writes the files under `outDir`, each through a temp file and a rename (never a half-written file). */
export function writeExampleData(files: Map<string, string | Buffer>, outDir: string): void {
  for (const [relative, content] of files) {
    const target = join(outDir, relative);
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    writeFileSync(temp, content);
    renameSync(temp, target);
  }
}
