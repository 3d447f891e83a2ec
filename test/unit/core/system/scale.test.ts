/**
 * The validator stays near-linear on large files (issue 12, item 10: 10,000 agents took 5.4 s, 20,000 took 27.6 s,
 * and the editor re-validates on every pause in typing). No timings here: each test counts the work a step does on
 * a few thousand agents, which a quadratic step (a scan per agent) would multiply by the agent count.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isMap, type YAMLMap } from 'yaml';
import { loadSystemFromText } from '../../../../src/core/system';
import { findClosingEdges, topologicalOrder } from '../../../../src/core/system/graph';
import { YamlSource } from '../../../../src/core/system/yamlSource';

const N = 3000;

/** An array whose element reads are counted. */
function counted<T>(items: T[]): { items: T[]; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { items: proxy, reads: () => reads };
}

/** a0 -> a1 -> ... -> a(n-1), each reading the one before, and task.q. */
function chainSystem(n: number): string {
  const lines = ['version: 1', 'models: { r: { provider: replay } }', 'agents:'];
  for (let i = 0; i < n; i++) lines.push(`  a${i}: { prompt: p.md, model: r, inputs: [${i ? `a${i - 1}, ` : ''}task.q] }`);
  lines.push(`output: a${n - 1}`, '');
  return lines.join('\n');
}

describe('the validator on many agents', () => {
  test('topologicalOrder reads each node a constant number of times', () => {
    const names = Array.from({ length: N }, (_, i) => `a${i}`);
    const edges = names.slice(1).map((to, i) => ({ from: names[i], to }));
    const nodes = counted(names);
    assert.deepEqual(topologicalOrder(nodes.items, edges), names);
    assert.ok(nodes.reads() < 10 * N, `${nodes.reads()} reads of ${N} nodes`);
    // Ties still go in file order.
    assert.deepEqual(topologicalOrder(['c', 'b', 'a', 'd'], [{ from: 'a', to: 'd' }]), ['c', 'b', 'a', 'd']);
    assert.deepEqual(topologicalOrder(['d', 'b', 'a'], [{ from: 'a', to: 'd' }]), ['b', 'a', 'd']);
  });

  test('findClosingEdges: a chain listed backwards has no cycle; one added edge back is still reported', () => {
    // Listed last-first, each edge's search would walk the whole chain built so far: the acyclic check comes first.
    const edges = Array.from({ length: N - 1 }, (_, i) => ({ from: `a${i}`, to: `a${i + 1}` })).reverse();
    assert.deepEqual(findClosingEdges(edges), []);
    const back = { from: 'a5', to: 'a2' };
    assert.deepEqual(findClosingEdges([...edges, back]), [{ edge: back, cycle: ['a2', 'a3', 'a4', 'a5', 'a2'] }]);
  });

  test('locating agents in the YAML indexes each mapping once instead of scanning it per lookup', () => {
    const source = YamlSource.parse('/virtual/agentchord.yaml', chainSystem(N));
    const agents = source.doc.get('agents', true);
    assert.ok(isMap(agents));
    const map = agents as YAMLMap;
    const items = counted(map.items);
    map.items = items.items;
    for (let i = 0; i < N; i++) assert.equal(source.rangeOf(source.locate(['agents', `a${i}`]).key).line, i + 4);
    assert.ok(items.reads() < 5 * N, `${items.reads()} reads of ${N} entries`);
  });

  test('a large chain loads, in order', () => {
    const result = loadSystemFromText('/virtual/agentchord.yaml', chainSystem(N), { exists: () => true });
    assert.deepEqual(result.problems, []);
    assert.equal(result.system?.order.length, N);
    assert.equal(result.system?.order[N - 1], `a${N - 1}`);
  });
});
