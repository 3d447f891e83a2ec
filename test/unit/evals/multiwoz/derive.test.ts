/**
 * The derivations from the raw MultiWOZ 2.1 test dialogues reproduce the evaluator's files exactly (booked domains,
 * goals) and the shared gold states and paper sample; the example's shipped data is exactly what the extraction
 * script builds.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { deriveBookedDomains, deriveGoal, deriveGoldStates, evaluatorId, toSampleDialogue, type RawDialogue } from '../../../../src/evals/multiwoz/derive';
import { buildExampleData, readTestDialogues, TRAIN_SAMPLE_SIZE } from '../../../../src/evals/multiwoz/extract';
import { loadSampleDialogues, MULTIWOZ_DATA_FILES } from '../../../../src/evals/multiwoz/data';
import { repoPath, sharedPath } from '../../repo';

const SHARED = sharedPath('data/multiwoz');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

let dialogues: Record<string, RawDialogue>;
before(() => {
  dialogues = readTestDialogues(SHARED);
});

describe('derivations from the MultiWOZ 2.1 test dialogues', () => {
  test('booked domains equal the evaluator’s booked_domains.json for all 1000 test dialogues', () => {
    const expected = readJson(join(SHARED, 'booked_domains.json')) as Record<string, string[][]>;
    assert.equal(Object.keys(dialogues).length, 1000);
    for (const [id, dialogue] of Object.entries(dialogues)) assert.deepEqual(deriveBookedDomains(dialogue), expected[evaluatorId(id)], id);
  });

  test('booked domains: a domain counts from the turn its first booking appears; taxi never counts', () => {
    const turn = (booked: Record<string, number>) => ({
      text: '',
      metadata: Object.fromEntries(['taxi', 'restaurant', 'hotel', 'train'].map((d) => [d, { book: { booked: new Array(booked[d] ?? 0).fill({}) }, semi: {} }])),
    });
    const dialogue: RawDialogue = {
      goal: {},
      log: [turn({}), turn({}), turn({}), turn({ hotel: 1 }), turn({}), turn({ taxi: 1, hotel: 1, train: 1 })],
    };
    assert.deepEqual(deriveBookedDomains(dialogue), [[], ['hotel'], ['hotel', 'train']]);
  });

  test('goals equal goals_test.json (the evaluator’s goals of the test set), key order included', () => {
    const expected = readJson(join(SHARED, 'goals_test.json'));
    const derived = Object.fromEntries(Object.entries(dialogues).map(([id, d]) => [evaluatorId(id), deriveGoal(d)]));
    assert.equal(JSON.stringify(derived), JSON.stringify(expected));
  });

  test('gold states equal gold_states_test.json (2.1 labels, evaluator format), key order included', () => {
    const expected = readJson(join(SHARED, 'gold_states_test.json'));
    const derived = Object.fromEntries(Object.entries(dialogues).map(([id, d]) => [evaluatorId(id), deriveGoldStates(d)]));
    assert.equal(JSON.stringify(derived), JSON.stringify(expected));
  });

  test('sample dialogues rebuilt from the raw data equal the paper sample (all fields but all_clean)', () => {
    const sample = loadSampleDialogues(join(SHARED, 'sample100.json'));
    assert.equal(sample.length, 100);
    for (const expected of sample) {
      const { all_clean: _unused, ...fields } = expected as typeof expected & { all_clean?: boolean };
      const rebuilt = toSampleDialogue(expected.dialogue_id, dialogues[expected.dialogue_id], deriveGoal(dialogues[expected.dialogue_id]));
      assert.equal(JSON.stringify(rebuilt), JSON.stringify(fields), expected.dialogue_id);
    }
  });
});

describe('the example’s shipped data (examples/multiwoz/data)', () => {
  test('is exactly what scripts/data/multiwoz-extract.mjs builds, and nothing else', () => {
    const dataDir = repoPath('examples/multiwoz/data');
    const built = buildExampleData(SHARED);
    const shipped: string[] = [];
    (function walk(dir: string) {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else shipped.push(relative(dataDir, path));
      }
    })(dataDir);
    assert.deepEqual(shipped.sort(), [...built.keys()].sort());
    for (const [name, content] of built) assert.ok(readFileSync(join(dataDir, name)).equals(Buffer.from(content)), `${name} differs: rerun the script`);
  });

  test('the training sample is disjoint from the paper’s 100 and has the sample shape', () => {
    const evaluated = new Set(loadSampleDialogues(repoPath('examples/multiwoz/data', MULTIWOZ_DATA_FILES.sample100)).map((d) => d.dialogue_id));
    const train = loadSampleDialogues(repoPath('examples/multiwoz/data', MULTIWOZ_DATA_FILES.trainSample));
    assert.equal(train.length, TRAIN_SAMPLE_SIZE);
    assert.equal(evaluated.size, 100);
    for (const d of train) {
      assert.ok(!evaluated.has(d.dialogue_id), d.dialogue_id);
      assert.equal(d.turns.length, d.booked_domains.length);
      assert.ok(d.turns.every((t) => typeof t.user === 'string' && typeof t.system === 'string' && t.user.length > 0));
      assert.ok(Object.keys(d.goal_mwzeval).length > 0);
    }
  });
});
