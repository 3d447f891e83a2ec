import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgePathData, fitSize, formatScore, formatWeight, percent, truncateLabel, MAX_LABEL_CHARS, MAX_SCALE, MIN_SCALE } from '../../../../../webview/svg';
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

  test('the drawing is fitted to the panel, aspect kept, between MIN_SCALE and MAX_SCALE', () => {
    // Wider than the panel: shrunk to its width.
    assert.deepEqual(fitSize({ width: 1000, height: 200 }, { width: 500, height: 800 }), { width: 500, height: 100, scale: 0.5 });
    // Taller: shrunk to its height.
    assert.deepEqual(fitSize({ width: 400, height: 1000 }, { width: 800, height: 600 }), { width: 240, height: 600, scale: 0.6 });
    // Small graphs grow, but no more than MAX_SCALE; huge ones shrink no further than MIN_SCALE (the canvas scrolls).
    assert.equal(fitSize({ width: 100, height: 50 }, { width: 1000, height: 1000 }).scale, MAX_SCALE);
    assert.equal(fitSize({ width: 10_000, height: 5000 }, { width: 800, height: 600 }).scale, MIN_SCALE);
    // A panel not laid out yet (size 0) draws at the layout's size; the same sizes always give the same drawing.
    assert.deepEqual(fitSize({ width: 300, height: 200 }, { width: 0, height: 0 }), { width: 300, height: 200, scale: 1 });
    assert.deepEqual(fitSize({ width: 640, height: 333 }, { width: 917, height: 481 }), fitSize({ width: 640, height: 333 }, { width: 917, height: 481 }));
  });
});
