import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findClosingEdges, nodesReaching, topologicalOrder } from '../../../../src/core/system/graph';

const edge = (from: string, to: string) => ({ from, to });

describe('agent graph', () => {
  test('no cycle in a DAG', () => {
    assert.deepEqual(findClosingEdges([edge('a', 'b'), edge('b', 'c'), edge('a', 'c')]), []);
  });

  test('the edge that closes a cycle, with the cycle in data-flow order', () => {
    const closing = edge('c', 'a');
    assert.deepEqual(findClosingEdges([edge('a', 'b'), edge('b', 'c'), closing]), [{ edge: closing, cycle: ['a', 'b', 'c', 'a'] }]);
  });

  test('a self loop', () => {
    assert.deepEqual(findClosingEdges([edge('a', 'a')]).map((c) => c.cycle), [['a', 'a']]);
  });

  test('the shortest cycle through the closing edge is reported', () => {
    const result = findClosingEdges([edge('a', 'b'), edge('b', 'c'), edge('c', 'd'), edge('a', 'd'), edge('d', 'a')]);
    assert.deepEqual(result.map((c) => c.cycle), [['a', 'd', 'a']]);
  });

  test('topological order: predecessors first, ties in the given order', () => {
    assert.deepEqual(topologicalOrder(['d', 'c', 'b', 'a'], [edge('a', 'b'), edge('c', 'd')]), ['c', 'd', 'a', 'b']);
    assert.deepEqual(topologicalOrder(['x', 'y'], []), ['x', 'y']);
    assert.equal(topologicalOrder(['a', 'b'], [edge('a', 'b'), edge('b', 'a')]), undefined);
  });

  test('nodes reaching a target', () => {
    const edges = [edge('a', 'b'), edge('b', 'out'), edge('c', 'out'), edge('out', 'd'), edge('e', 'd')];
    assert.deepEqual([...nodesReaching('out', edges)].sort(), ['a', 'b', 'c', 'out']);
  });
});
