/**
 * Ground-truth replay against tau-bench's own numbers: every observation of the train and dev splits
 * (retail_gt_*.json, made by tau-bench's Python code) and every final-database hash.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadPaperTestOrder, loadRetailData, loadRetailTasks, RetailDatabase, TAU_RETAIL_FILES, type RetailSplit } from '../../../../src/evals/tau-retail/db';
import { groundTruthDatabase, replayActions } from '../../../../src/evals/tau-retail/replay';
import { computeReward } from '../../../../src/evals/tau-retail/rewards';
import { repoPath, sharedPath } from '../../repo';

const DATA = repoPath('examples/tau-retail/data');
const SHARED = sharedPath('data/taubench/retail');

interface GroundTruth {
  task_index: number;
  gt_data_hash: string;
  changes_db: boolean;
  action_names: string[];
  observations: string[];
}

/** Observations compare as parsed JSON where they are JSON (dumps of orders/users), else as strings. */
function assertSameObservation(got: string, want: string, where: string): void {
  let wantJson: unknown;
  try {
    wantJson = JSON.parse(want);
  } catch {
    assert.equal(got, want, where);
    return;
  }
  assert.deepEqual(JSON.parse(got), wantJson, where);
  // The text too: Python's layout and number format (247.0, float noise) are what the agent reads.
  assert.equal(got, want, where);
}

describe('tau-retail data', () => {
  test('the shipped files are the benchmark’s, byte for byte, with the MIT licence', () => {
    const files = ['orders.json', 'products.json', 'users.json', 'policy.md', 'retail_rules.json', 'agentchord_retail_test_order_seed42.json'];
    for (const split of ['train', 'dev', 'test'] as const) files.push(TAU_RETAIL_FILES.tasks(split));
    for (const file of files) assert.ok(readFileSync(`${DATA}/${file}`).equals(readFileSync(`${SHARED}/${file}`)), file);
    assert.ok(readFileSync(`${DATA}/LICENSE`, 'utf8').startsWith('MIT License\n\nCopyright (c) 2024 Sierra'));
    // The tool schemas are code's data: they live with the tools (src/evals/tau-retail/), still byte for byte.
    assert.ok(readFileSync(repoPath('src/evals/tau-retail/retail_tools.json')).equals(readFileSync(`${SHARED}/retail_tools.json`)), 'retail_tools.json');
  });

  test('the initial database hashes to tau-bench’s 5a4b2cb5… (ints stay ints, floats print as floats)', () => {
    const summary = JSON.parse(readFileSync(`${SHARED}/summary.json`, 'utf8'));
    assert.equal(new RetailDatabase(loadRetailData(DATA)).hash(), summary.initial_data_hash);
  });

  test('task counts and the paper’s test order', () => {
    assert.equal(loadRetailTasks(DATA, 'train').length, 500);
    assert.equal(loadRetailTasks(DATA, 'dev').length, 20);
    assert.equal(loadRetailTasks(DATA, 'test').length, 115);
    const order = loadPaperTestOrder(DATA);
    assert.deepEqual([...order].sort((a, b) => a - b), [...Array(115).keys()]);
    assert.deepEqual(order.slice(0, 3), [67, 109, 114]);
  });
});

describe('ground-truth replay', () => {
  const data = loadRetailData(DATA);
  for (const split of ['train', 'dev'] as RetailSplit[]) {
    test(`${split}: every observation and every final-database hash equal tau-bench’s`, () => {
      const tasks = loadRetailTasks(DATA, split);
      const truth = JSON.parse(readFileSync(`${SHARED}/retail_gt_${split}.json`, 'utf8')) as GroundTruth[];
      assert.equal(truth.length, tasks.length);
      let observations = 0;
      let errors = 0;
      tasks.forEach((task, i) => {
        const gt = truth[i];
        assert.equal(gt.task_index, i);
        assert.deepEqual(task.actions.map((a) => a.name), gt.action_names);
        const { observations: got, database } = replayActions(data, task.actions);
        assert.equal(got.length, gt.observations.length, `${split} task ${i}`);
        got.forEach((o, j) => assertSameObservation(o, gt.observations[j], `${split} task ${i}, action ${j} (${gt.action_names[j]})`));
        assert.equal(database.hash(), gt.gt_data_hash, `${split} task ${i}: database hash`);
        assert.equal(computeReward(data, task, database, []).actionReward, 1, `${split} task ${i}: action reward`);
        observations += got.length;
        errors += got.filter((o) => o.startsWith('Error: insufficient gift card balance')).length;
      });
      assert.equal(observations, split === 'train' ? 768 : 25);
      if (split === 'train') assert.equal(errors, 20); // the note: 20 train tasks observe this error in their ground truth
    });
  }

  test('each task starts from a fresh database: replays do not leak into each other or into the initial data', () => {
    const before = new RetailDatabase(data).hash();
    const task = loadRetailTasks(DATA, 'train')[0];
    const first = replayActions(data, task.actions);
    const second = replayActions(data, task.actions);
    assert.equal(first.observations[0], second.observations[0]);
    assert.match(first.observations[0], /"status": "return requested"/);
    assert.equal(data.orders['#W6067464'].status, 'delivered');
    assert.equal(new RetailDatabase(data).hash(), before);
  });

  test('test split: every ground-truth action is a known tool, replays are reproducible, a transfer answers “Transfer successful”', () => {
    const tasks = loadRetailTasks(DATA, 'test');
    const withTransfer = tasks.findIndex((t) => t.actions.some((a) => a.name === 'transfer_to_human_agents'));
    assert.ok(withTransfer >= 0);
    for (const task of tasks) {
      const { observations, database } = replayActions(data, task.actions);
      assert.equal(observations.length, task.actions.length);
      assert.ok(observations.every((o) => !o.startsWith('Unknown action')));
      assert.ok(database.equals(groundTruthDatabase(data, task)));
      assert.equal(database.hash(), groundTruthDatabase(data, task).hash());
    }
    const transfer = replayActions(data, tasks[withTransfer].actions);
    assert.equal(transfer.observations[tasks[withTransfer].actions.findIndex((a) => a.name === 'transfer_to_human_agents')], 'Transfer successful');
  });
});
