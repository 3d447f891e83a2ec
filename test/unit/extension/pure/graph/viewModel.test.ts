import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blameText,
  buildGraphViewModel,
  edgeWidth,
  MAX_EDGE_WIDTH,
  MIN_EDGE_WIDTH,
  runChoice,
  UNWEIGHTED_EDGE_WIDTH,
} from '../../../../../src/extension/pure/graph/viewModel';
import type { GraphViewModel } from '../../../../../src/protocol/webview';
import { callId, systemFromYaml, THREE_AGENTS, threeAgentRun } from './fixtures';

const system = systemFromYaml(THREE_AGENTS);
const run = threeAgentRun(system);
const runs = [runChoice(run)];

const edgeList = (m: GraphViewModel) => m.edges.map((e) => `${e.from} -> ${e.to}`);
const edge = (m: GraphViewModel, from: string, to: string) => {
  const found = m.edges.find((e) => e.from === from && e.to === to);
  assert.ok(found, `no edge ${from} -> ${to} in ${edgeList(m).join(', ')}`);
  return found;
};
const node = (m: GraphViewModel, id: string) => {
  const found = m.nodes.find((n) => n.id === id);
  assert.ok(found, `no node ${id}`);
  return found;
};

describe('graph view model: full mode (the agent DAG)', () => {
  test('without a run: the agents, task inputs and loss of the system file, unweighted', async () => {
    const m = await buildGraphViewModel(system, { runs: [] }, { mode: 'full' });
    assert.equal(m.mode, 'full');
    assert.deepEqual(m.nodes.map((n) => n.id), ['agent:critic', 'agent:researcher', 'agent:writer', 'input:task.question', 'loss']);
    assert.deepEqual(edgeList(m), [
      'agent:critic -> agent:writer',
      'agent:researcher -> agent:critic',
      'agent:researcher -> agent:writer',
      'agent:writer -> loss',
      'input:task.question -> agent:critic',
      'input:task.question -> agent:researcher',
    ]);
    assert.equal(edge(m, 'agent:writer', 'loss').kind, 'structural');
    assert.ok(m.edges.every((e) => e.weight === undefined && e.width === UNWEIGHTED_EDGE_WIDTH));
    assert.ok(m.nodes.every((n) => n.blame === 0));
    assert.equal(m.runId, undefined);
    assert.deepEqual(m.trajectories, []);
    assert.equal(m.notice, undefined);
  });

  test('asking for top-k without a run falls back to the agent graph and says why', async () => {
    const m = await buildGraphViewModel(system, { runs: [] }, { mode: 'topk' });
    assert.equal(m.mode, 'full');
    assert.match(m.notice ?? '', /No run of this system yet/);
  });

  test('with a run: edge weight is the mean over the run, width scales with it, top-k drops are marked', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'full' });
    assert.equal(m.runId, 'run-1');
    const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} != ${b}`);
    close(edge(m, 'agent:critic', 'agent:writer').weight, (0.8 + 0.4 + 0.4) / 3);
    close(edge(m, 'agent:researcher', 'agent:writer').weight, (0.2 + 0.6 + 0.6) / 3);
    close(edge(m, 'input:task.question', 'agent:critic').weight, 0.1);
    // Widths are relative to the strongest connection into the same node (weights of different calls have different
    // scales): the researcher's single block is its widest input, the critic's inputs are in proportion to each other.
    assert.equal(edge(m, 'input:task.question', 'agent:researcher').width, MAX_EDGE_WIDTH);
    const intoCritic = Math.max(Math.abs(edge(m, 'input:task.question', 'agent:critic').weight!), Math.abs(edge(m, 'agent:researcher', 'agent:critic').weight!));
    assert.ok(intoCritic > 0.1, 'the researcher is the critic\'s stronger input');
    assert.equal(edge(m, 'agent:researcher', 'agent:critic').width, MAX_EDGE_WIDTH);
    assert.equal(
      edge(m, 'input:task.question', 'agent:critic').width,
      Math.round((MIN_EDGE_WIDTH + (MAX_EDGE_WIDTH - MIN_EDGE_WIDTH) * (0.1 / intoCritic)) * 100) / 100,
    );
    assert.equal(edge(m, 'agent:critic', 'agent:writer').width, MAX_EDGE_WIDTH, 'the writer\'s stronger input');
    assert.equal(edge(m, 'input:task.question', 'agent:critic').kept, false, 'the critic keeps only its top-1 input, the researcher');
    assert.equal(edge(m, 'agent:critic', 'agent:writer').kept, true);
    assert.equal(edge(m, 'agent:writer', 'loss').width, UNWEIGHTED_EDGE_WIDTH);
  });

  test('each edge says on hover what share of its target\'s input weight it carries', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'full' });
    // Into the writer: critic mean 1.6/3, researcher mean 1.4/3, so the critic carries 1.6/3.0 of the writer's input.
    const critic = edge(m, 'agent:critic', 'agent:writer');
    assert.ok(Math.abs(critic.share! - 1.6 / 3.0) < 1e-9, String(critic.share));
    assert.equal(critic.title, "critic → writer: 53% of writer's input weight (w 0.533)");
    assert.equal(edge(m, 'agent:researcher', 'agent:writer').title, "researcher → writer: 47% of writer's input weight (w 0.467)");
    assert.equal(edge(m, 'input:task.question', 'agent:researcher').title, "question → researcher: 100% of researcher's input weight (w 1.00)");
    // The shares into one node add up to 1; the structural edge to the loss has none.
    const intoWriter = m.edges.filter((e) => e.to === 'agent:writer').reduce((sum, e) => sum + e.share!, 0);
    assert.ok(Math.abs(intoWriter - 1) < 1e-9);
    assert.equal(edge(m, 'agent:writer', 'loss').share, undefined);
    assert.equal(edge(m, 'agent:writer', 'loss').title, 'writer → loss (structural: no connection weight)');
    const unweighted = await buildGraphViewModel(system, { runs: [] }, { mode: 'full' });
    assert.equal(edge(unweighted, 'agent:critic', 'agent:writer').title, 'critic → writer: no connection weight in this run');
  });

  test('node fill is the agent\'s share of all the run\'s trajectories', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'full' });
    assert.equal(node(m, 'agent:writer').blame, 1);
    assert.equal(node(m, 'agent:researcher').blame, 1);
    assert.equal(node(m, 'agent:critic').blame, 0.5, 'only s1 (of the two failing samples) runs through the critic');
    assert.equal(node(m, 'input:task.question').blame, 0);
    assert.deepEqual(m.blame.map((b) => [b.agent, b.share]), [['researcher', 1], ['writer', 1], ['critic', 0.5]]);
    // Two agents at 100% is no contradiction once it says what the share is of.
    assert.deepEqual(m.blame.map((b) => [b.agent, b.total, b.text]), [
      ['researcher', 2, 'on 2 of 2 failing trajectories'],
      ['writer', 2, 'on 2 of 2 failing trajectories'],
      ['critic', 2, 'on 1 of 2 failing trajectories'],
    ]);
    assert.equal(blameText(0, 0), 'no failing trajectories');
    assert.equal(blameText(1, 1), 'on 1 of 1 failing trajectory');
  });

  test('trajectories map onto the agent DAG, with the ids of the edges they run along', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'full' });
    assert.equal(m.trajectories.length, 2);
    const [t1, t2] = m.trajectories;
    assert.deepEqual(t1!.nodes, ['input:task.question', 'agent:researcher', 'agent:critic', 'agent:writer', 'loss']);
    assert.deepEqual(t2!.nodes, ['input:task.question', 'agent:researcher', 'agent:writer', 'loss']);
    const ends = (id: string) => {
      const e = m.edges.find((x) => x.id === id)!;
      return `${e.from} -> ${e.to}`;
    };
    assert.deepEqual(t1!.edges.map(ends), [
      'input:task.question -> agent:researcher',
      'agent:researcher -> agent:critic',
      'agent:critic -> agent:writer',
      'agent:writer -> loss',
    ]);
    assert.deepEqual(t2!.agents, ['researcher', 'writer']);
  });

  test('the trajectory list is capped; blame still counts them all', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'full', maxTrajectories: 1 });
    assert.equal(m.trajectories.length, 1);
    assert.equal(m.trajectoriesOmitted, 1);
    assert.equal(node(m, 'agent:critic').blame, 0.5);
  });
});

describe('graph view model: top-k mode (one sample\'s attribution graph)', () => {
  test('defaults to the first failed sample and shows only its kept edges, between calls', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'topk' });
    assert.equal(m.mode, 'topk');
    assert.equal(m.sampleId, 's1', 's3 comes first but passed');
    assert.deepEqual(edgeList(m).sort(), [
      `${callId('s1', 'critic')} -> ${callId('s1', 'writer')}`,
      `${callId('s1', 'researcher')} -> ${callId('s1', 'critic')}`,
      `${callId('s1', 'writer')} -> loss`,
      `input:task.question -> ${callId('s1', 'researcher')}`,
    ].sort());
    assert.ok(m.edges.every((e) => e.kept));
    assert.equal(edge(m, callId('s1', 'critic'), callId('s1', 'writer')).callId, callId('s1', 'writer'), 'clicking opens the writer call\'s input');
    assert.equal(edge(m, callId('s1', 'writer'), 'loss').callId, undefined);
    assert.equal(node(m, callId('s1', 'critic')).agent, 'critic');
    assert.equal(m.trajectories.length, 1);
    assert.deepEqual(m.trajectories[0]!.edges.length, 4);
  });

  test('another sample: its own graph and its own blame', async () => {
    const m = await buildGraphViewModel(system, { runs, run }, { mode: 'topk', sampleId: 's2' });
    assert.equal(m.sampleId, 's2');
    assert.ok(edgeList(m).includes(`${callId('s2', 'researcher')} -> ${callId('s2', 'writer')}`));
    assert.ok(!edgeList(m).includes(`${callId('s2', 'critic')} -> ${callId('s2', 'writer')}`), 'the writer kept the researcher (0.6), not the critic (0.4)');
    assert.equal(node(m, callId('s2', 'critic')).blame, 0, 'the critic is on no trajectory of s2');
    assert.equal(node(m, callId('s2', 'writer')).blame, 1);
    assert.deepEqual(m.samples.map((s) => [s.id, s.failed]), [['s3', false], ['s1', true], ['s2', true]]);
  });

  test('a sample without a graph falls back to the agent graph with a notice', async () => {
    const partial = { ...run, graphs: run.graphs.filter((g) => g.sampleId !== 's2') };
    const m = await buildGraphViewModel(system, { runs, run: partial }, { mode: 'topk', sampleId: 's2' });
    assert.equal(m.mode, 'full');
    assert.match(m.notice ?? '', /No attribution graph for sample s2/);
  });
});

describe('edge widths', () => {
  test('proportional to |weight|: negative grad·input weights are as wide as positive ones', () => {
    assert.equal(edgeWidth({ kind: 'connection', weight: -2 }, 2), MAX_EDGE_WIDTH);
    assert.equal(edgeWidth({ kind: 'connection', weight: 1 }, 2), (MIN_EDGE_WIDTH + MAX_EDGE_WIDTH) / 2);
    assert.equal(edgeWidth({ kind: 'connection', weight: 0 }, 2), MIN_EDGE_WIDTH);
    assert.equal(edgeWidth({ kind: 'connection', weight: 0 }, 0), MIN_EDGE_WIDTH);
    assert.equal(edgeWidth({ kind: 'structural' }, 2), UNWEIGHTED_EDGE_WIDTH);
  });
});

describe('run list and comparison in the view model', () => {
  test('a run summary has its mean score; the comparison comes with the state when asked for', async () => {
    assert.deepEqual(runChoice(run), { id: 'run-1', createdAt: run.manifest.createdAt, kind: 'run', status: 'completed', samples: 3, meanScore: 0.5 });
    const better = { id: 'run-2', samples: run.samples.map((s) => ({ ...s, score: s.sampleId === 's1' ? 1 : s.score })) };
    const m = await buildGraphViewModel(system, { runs, run, compare: { a: { id: 'run-1', samples: run.samples }, b: better } }, { mode: 'full' });
    assert.equal(m.comparison?.improved, 1);
    assert.equal(m.comparison?.rows[0]?.sampleId, 's1');
  });
});
