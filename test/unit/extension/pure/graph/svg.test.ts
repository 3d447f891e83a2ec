import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgePathData, formatScore, formatWeight, percent, truncateLabel, MAX_LABEL_CHARS } from '../../../../../webview/svg';
import { MAX_LABEL_CHARS as HOST_MAX_LABEL_CHARS } from '../../../../../src/extension/pure/graph/viewModel';

describe('webview drawing helpers', () => {
  test('ELK routes are polylines; two-point routes become S-curves between the node sides', () => {
    assert.equal(edgePathData([{ x: 0, y: 0 }, { x: 10, y: 5 }, { x: 20, y: 5 }]), 'M0 0 L10 5 L20 5');
    assert.equal(edgePathData([{ x: 0, y: 0 }, { x: 100, y: 50 }]), 'M0 0 C50 0 50 50 100 50');
    assert.equal(edgePathData([]), '');
  });

  test('labels are cut where the host sized the node for', () => {
    assert.equal(MAX_LABEL_CHARS, HOST_MAX_LABEL_CHARS);
    assert.equal(truncateLabel('short'), 'short');
    const long = 'x'.repeat(40);
    assert.equal(truncateLabel(long).length, MAX_LABEL_CHARS);
    assert.ok(truncateLabel(long).endsWith('…'));
  });

  test('numbers for tooltips and tables', () => {
    assert.equal(percent(0.456), '46%');
    assert.equal(formatWeight(-0.012345), '-0.0123');
    assert.equal(formatWeight(undefined), 'no weight');
    assert.equal(formatScore(0.5), '0.500');
    assert.equal(formatScore(undefined), '–');
  });
});
