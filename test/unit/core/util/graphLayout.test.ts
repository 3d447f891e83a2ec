import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutGraph, longestPathLayers, MAX_LAYOUT_DUMMIES, type GraphLayout } from '../../../../src/core/util/graphLayout';
import { buildGraphViewModel, runChoice } from '../../../../src/extension/pure/graph/viewModel';
import type { GraphViewModel } from '../../../../src/protocol/webview';
import { denseSystemYaml, systemFromYaml, THREE_AGENTS, THREE_AGENTS_PERMUTED, threeAgentRun } from '../../extension/pure/graph/fixtures';

/** Deterministic shuffle (a fixed linear congruential generator), so a failure reproduces. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const asJson = (l: GraphLayout) => JSON.stringify({ nodes: [...l.nodes].sort(), edges: [...l.edges].sort(), w: l.width, h: l.height });
const geometry = (m: GraphViewModel) => JSON.stringify({ nodes: m.nodes, edges: m.edges, width: m.width, height: m.height });

function overlaps(m: GraphViewModel): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.nodes.length; i++) {
    for (let j = i + 1; j < m.nodes.length; j++) {
      const a = m.nodes[i]!;
      const b = m.nodes[j]!;
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) out.push(`${a.id} / ${b.id}`);
    }
  }
  return out;
}

describe('graph layout (elkjs, layered)', () => {
  test('the same system draws the same way twice', async () => {
    const system = systemFromYaml(THREE_AGENTS);
    const run = threeAgentRun(system);
    const first = await buildGraphViewModel(system, { runs: [runChoice(run)], run }, { mode: 'full' });
    const second = await buildGraphViewModel(system, { runs: [runChoice(run)], run }, { mode: 'full' });
    assert.equal(geometry(first), geometry(second));
    assert.ok(first.width > 0 && first.height > 0);
    assert.ok(first.nodes.every((n) => Number.isFinite(n.x) && Number.isFinite(n.y)));
    assert.ok(first.edges.every((e) => e.points.length >= 2));
  });

  test('agents and inputs listed in another order in the system file: identical drawing', async () => {
    const a = await buildGraphViewModel(systemFromYaml(THREE_AGENTS), { runs: [] }, { mode: 'full' });
    const b = await buildGraphViewModel(systemFromYaml(THREE_AGENTS_PERMUTED), { runs: [] }, { mode: 'full' });
    assert.equal(geometry(a), geometry(b));
  });

  test('a run whose records come in another order: identical top-k drawing', async () => {
    const system = systemFromYaml(THREE_AGENTS);
    const run = threeAgentRun(system);
    const permuted = {
      ...run,
      graphs: shuffled(run.graphs, 7).map((g) => ({ ...g, nodes: shuffled(g.nodes, 3), edges: shuffled(g.edges, 5) })),
      trajectories: run.trajectories,
    };
    const a = await buildGraphViewModel(system, { runs: [], run }, { mode: 'topk', sampleId: 's1' });
    const b = await buildGraphViewModel(system, { runs: [], run: permuted }, { mode: 'topk', sampleId: 's1' });
    assert.equal(geometry(a), geometry(b));
  });

  test('layoutGraph: permuted nodes and edges give identical coordinates and routes', async () => {
    const nodes = Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, width: 40 + i * 3, height: 30 }));
    const edges = [] as Array<{ id: string; from: string; to: string }>;
    for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j += 2 + (i % 3)) edges.push({ id: `${i}-${j}`, from: `n${i}`, to: `n${j}` });
    // A fan-in: nodes of one layer with nothing to order them by but the input order.
    for (let i = 0; i < 6; i++) {
      nodes.push({ id: `src${i}`, width: 50, height: 30 });
      edges.push({ id: `src${i}-n11`, from: `src${i}`, to: 'n11' });
    }
    const base = asJson(await layoutGraph(nodes, edges));
    for (const seed of [1, 2]) assert.equal(asJson(await layoutGraph(shuffled(nodes, seed), shuffled(edges, seed + 10))), base);
  });

  test('flows left to right, without overlapping nodes (small graph: every edge routed by ELK)', async () => {
    const m = await buildGraphViewModel(systemFromYaml(THREE_AGENTS), { runs: [] }, { mode: 'full' });
    const at = new Map(m.nodes.map((n) => [n.id, n]));
    for (const e of m.edges) assert.ok(at.get(e.from)!.x < at.get(e.to)!.x, `${e.from} is not left of ${e.to}`);
    assert.deepEqual(overlaps(m), []);
    assert.ok(m.edges.some((e) => e.points.length > 2 || e.points[0]!.x < e.points[1]!.x));
  });

  test('a dense graph (50 agents, 1000 edges) lays out in layers, deterministically, without overlaps', async () => {
    const system = systemFromYaml(denseSystemYaml(50, 1000));
    const inputs = system.agents.reduce((n, a) => n + a.inputs.length, 0);
    assert.ok(inputs >= 990 && inputs <= 1001, `the fixture should have about 1000 inputs, has ${inputs}`);
    const m = await buildGraphViewModel(system, { runs: [] }, { mode: 'full' });
    const layers = longestPathLayers(m.nodes.map((n) => n.id), m.edges);
    const dummies = m.edges.reduce((s, e) => s + Math.max(0, layers.get(e.to)! - layers.get(e.from)! - 1), 0);
    assert.ok(dummies > MAX_LAYOUT_DUMMIES, 'the fixture must exercise the dense path');
    const at = new Map(m.nodes.map((n) => [n.id, n]));
    for (const e of m.edges) assert.ok(at.get(e.from)!.x < at.get(e.to)!.x, `${e.from} is not left of ${e.to}`);
    assert.deepEqual(overlaps(m), []);
    assert.equal(m.edges.length, inputs + 1);
    const again = await buildGraphViewModel(system, { runs: [] }, { mode: 'full' });
    assert.equal(geometry(again), geometry(m));
  });

  test('longest-path layers: sources 0, each node one past its deepest predecessor', () => {
    const layers = longestPathLayers(['a', 'b', 'c', 'd'], [
      { id: '1', from: 'a', to: 'b' },
      { id: '2', from: 'b', to: 'c' },
      { id: '3', from: 'a', to: 'c' },
      { id: '4', from: 'a', to: 'd' },
    ]);
    assert.deepEqual(Object.fromEntries(layers), { a: 0, b: 1, c: 2, d: 1 });
  });
});
