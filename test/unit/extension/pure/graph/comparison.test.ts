import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns } from '../../../../../src/extension/pure/graph/comparison';
import { outcome } from './fixtures';

describe('run comparison', () => {
  const a = { id: 'A', samples: [outcome('s1', 0.5, 'x'), outcome('s2', 1, ''), outcome('s3', 0.2, 'x'), outcome('s4', 0.7, 'x'), outcome('gone', 1, '')] };
  const b = { id: 'B', samples: [outcome('s1', 1, ''), outcome('s2', 0.25, 'x'), outcome('s3', 0.2, 'x'), outcome('s4', 0.6, 'x'), outcome('new', 0, 'x')] };

  test('classifies each sample and counts improvements and regressions', () => {
    const c = compareRuns(a, b);
    const change = Object.fromEntries(c.rows.map((r) => [r.sampleId, r.change]));
    assert.deepEqual(change, { s1: 'improved', s2: 'regressed', s3: 'unchanged', s4: 'regressed', gone: 'only-a', new: 'only-b' });
    assert.equal(c.improved, 1);
    assert.equal(c.regressed, 2);
    assert.equal(c.unchanged, 1);
    assert.equal(c.rows.find((r) => r.sampleId === 's1')?.delta, 0.5);
    assert.equal(c.meanA, (0.5 + 1 + 0.2 + 0.7 + 1) / 5);
    assert.equal(c.meanB, (1 + 0.25 + 0.2 + 0.6 + 0) / 5);
  });

  test('rows: regressions first, largest change first; then improvements, unchanged, one-sided', () => {
    assert.deepEqual(compareRuns(a, b).rows.map((r) => r.sampleId), ['s2', 's4', 's1', 's3', 'gone', 'new']);
  });

  test('a resumed run that recorded a sample twice counts its last score', () => {
    const c = compareRuns({ id: 'A', samples: [outcome('s1', 0, 'x')] }, { id: 'B', samples: [outcome('s1', 0, 'x'), outcome('s1', 1, '')] });
    assert.equal(c.rows[0]?.change, 'improved');
  });

  test('float noise is not a change', () => {
    const c = compareRuns({ id: 'A', samples: [outcome('s1', 0.1 + 0.2, '')] }, { id: 'B', samples: [outcome('s1', 0.3, '')] });
    assert.equal(c.rows[0]?.change, 'unchanged');
  });
});
