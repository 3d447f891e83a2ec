import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJsonSync } from '../../../../../src/core/engine/runFolder';
import { RUN_FILES } from '../../../../../src/core/engine/types';
import { findCallFor, listRunIds, loadGraphRunData, runDirOf } from '../../../../../src/extension/pure/graph/runData';
import { callId, outcome, systemFromYaml, THREE_AGENTS, threeAgentRun } from './fixtures';

/** Writes a run folder the way the engine lays it out (run.json + JSONL files). */
function writeRun(systemDir: string, id: string, contents: ReturnType<typeof threeAgentRun>) {
  const dir = runDirOf({ dir: systemDir }, id);
  mkdirSync(dir, { recursive: true });
  writeJsonSync(join(dir, RUN_FILES.manifest), { ...contents.manifest, id });
  const jsonl = (name: string, rows: unknown[]) => writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  jsonl(RUN_FILES.samples, contents.samples);
  jsonl(RUN_FILES.graphs, contents.graphs);
  jsonl(RUN_FILES.trajectories, contents.trajectories);
  jsonl(RUN_FILES.calls, contents.calls);
  return dir;
}

describe('graph run data (run folders on disk)', () => {
  const root = mkdtempSync(join(tmpdir(), 'agentchord-graph-runs-'));
  const system = { ...systemFromYaml(THREE_AGENTS, join(root, 'agentchord.yaml')) };
  const run = threeAgentRun(system);
  writeRun(root, '20261126-030000-000-aaaaaa', run);
  writeRun(root, '20261126-040000-000-bbbbbb', { ...run, samples: [outcome('s1', 1, ''), outcome('s2', 0.5, 'too vague'), outcome('s3', 0, 'wrong now')] });
  // Not runs: a folder without run.json, and a run with a broken run.json.
  mkdirSync(join(runDirOf(system, 'scratch')), { recursive: true });
  mkdirSync(runDirOf(system, '20261126-050000-000-cccccc'), { recursive: true });
  writeFileSync(join(runDirOf(system, '20261126-050000-000-cccccc'), RUN_FILES.manifest), '{ not json');

  test('lists runs newest first, skipping folders that are not runs', () => {
    assert.deepEqual(listRunIds(system), ['20261126-050000-000-cccccc', '20261126-040000-000-bbbbbb', '20261126-030000-000-aaaaaa']);
  });

  test('shows the newest readable run by default; a damaged run is reported with its file, not fatal', () => {
    const data = loadGraphRunData(system);
    assert.deepEqual(data.runs.map((r) => r.id), ['20261126-040000-000-bbbbbb', '20261126-030000-000-aaaaaa']);
    assert.equal(data.run?.manifest.id, '20261126-040000-000-bbbbbb');
    assert.equal(data.runDir, runDirOf(system, '20261126-040000-000-bbbbbb'));
    assert.equal(data.unreadable.length, 1);
    assert.match(data.unreadable[0]!, /20261126-050000-000-cccccc.*run\.json/);
  });

  test('a chosen run, and two runs to compare', () => {
    const data = loadGraphRunData(system, { runId: '20261126-030000-000-aaaaaa', compare: { a: '20261126-030000-000-aaaaaa', b: '20261126-040000-000-bbbbbb' } });
    assert.equal(data.run?.manifest.id, '20261126-030000-000-aaaaaa');
    assert.equal(data.run?.graphs.length, 3);
    assert.deepEqual(data.compare?.b.samples.map((s) => s.score), [1, 0.5, 0]);
    assert.equal(data.runs[1]?.meanScore, 0.5);
  });

  test('an unknown run id falls back to the newest; a system without runs has none', () => {
    assert.equal(loadGraphRunData(system, { runId: 'nope' }).run?.manifest.id, '20261126-040000-000-bbbbbb');
    const empty = loadGraphRunData({ dir: join(root, 'elsewhere') });
    assert.deepEqual(empty.runs, []);
    assert.equal(empty.run, undefined);
  });

  test('an agent-graph edge finds the call that received that input, preferring the shown sample', () => {
    const dir = runDirOf(system, '20261126-030000-000-aaaaaa');
    assert.equal(findCallFor(dir, 'agent:critic', 'agent:writer', 's2'), callId('s2', 'writer'));
    assert.equal(findCallFor(dir, 'agent:critic', 'agent:writer', undefined), callId('s3', 'writer'), 'first in run order');
    assert.equal(findCallFor(dir, 'input:task.question', 'agent:researcher', 's1'), callId('s1', 'researcher'));
    assert.equal(findCallFor(dir, 'agent:writer', 'loss', 's1'), undefined);
    assert.equal(findCallFor(dir, 'agent:writer', 'agent:critic', 's1'), undefined, 'the critic never reads the writer');
  });

  after(() => rmSync(root, { recursive: true, force: true }));
});
