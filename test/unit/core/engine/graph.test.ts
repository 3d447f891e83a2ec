import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAttributionGraph, LOSS_NODE_ID } from '../../../../src/core/engine/graph';
import { agentBlame, backwardSample, blamedAgents, collectTrajectories } from '../../../../src/core/engine/backward';
import { makeCall, threeAgentSample, unavailable, weights } from './loopFixtures';

const kept = (g: ReturnType<typeof buildAttributionGraph>) =>
  g.edges.filter((e) => e.kept).map((e) => `${e.from} -> ${e.to}`);

describe('attribution graph', () => {
  test('keeps the top-1 incoming connection of each call', () => {
    const { calls, attributions, ra, st } = threeAgentSample('s1', { a: 0.9, b: 0.2, topic: 0.5 });
    const g = buildAttributionGraph('s1', calls, attributions, { topK: 1, outputAgent: 'storyteller' });
    assert.equal(g.weighting, 'weighted');
    const into = g.edges.filter((e) => e.to === st.id);
    assert.deepEqual(into.filter((e) => e.kept).map((e) => e.from), [ra.id]);
    assert.equal(into.find((e) => e.from === ra.id)?.weight, 0.9);
    assert.ok(kept(g).includes(`${st.id} -> ${LOSS_NODE_ID}`));
  });

  test('top-k with tied weights is deterministic: earlier block wins, whatever the attribution order', () => {
    const { calls, attributions, rb, st } = threeAgentSample('s1', { a: 0.5, b: 0.5, topic: 0.5 });
    const g1 = buildAttributionGraph('s1', calls, attributions, { topK: 2, outputAgent: 'storyteller' });
    const g2 = buildAttributionGraph('s1', calls, [...attributions].reverse(), { topK: 2, outputAgent: 'storyteller' });
    assert.deepEqual(kept(g1), kept(g2));
    const keptInto = g1.edges.filter((e) => e.to === st.id && e.kept).map((e) => e.from);
    assert.deepEqual(keptInto, ['s1/t0/reporterA/s0', rb.id]);
  });

  test('unavailable weights keep every edge and mark the graph unweighted', () => {
    const { calls } = threeAgentSample('s1', { a: 1, b: 0, topic: 0 });
    const g = buildAttributionGraph('s1', calls, calls.map(unavailable), { topK: 1, outputAgent: 'storyteller' });
    assert.equal(g.weighting, 'unweighted');
    assert.ok(g.edges.every((e) => e.kept));
    assert.ok(g.edges.every((e) => e.weight === undefined));
  });

  test('tool call -> result -> next step is followed structurally, whatever the weights', () => {
    const s0 = makeCall('s2', 'manager', [{ id: 'task.q', source: { kind: 'task', field: 'q' } }], {
      toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{"id":1}', result: 'found' }],
    });
    const s1 = makeCall(
      's2',
      'manager',
      [
        { id: 'task.q', source: { kind: 'task', field: 'q' } },
        { id: 'tool:c1', source: { kind: 'tool', tool: 'lookup', toolCallId: 'c1', callId: s0.id } },
      ],
      { step: 1 },
    );
    const g = buildAttributionGraph('s2', [s0, s1], [weights(s0, { 'task.q': 1 }), weights(s1, { 'task.q': 0.9, 'tool:c1': 0.1 })], {
      topK: 1,
      outputAgent: 'manager',
    });
    const k = kept(g);
    assert.ok(k.includes(`${s0.id} -> tool_call:${s0.id}:c1`));
    assert.ok(k.includes(`tool_call:${s0.id}:c1 -> tool_result:${s0.id}:c1`));
    assert.ok(k.includes(`tool_result:${s0.id}:c1 -> ${s1.id}`), 'the low-weight tool result still leads to the next step');
    assert.ok(k.includes(`input:task.q -> ${s1.id}`), 'top-1 connection kept as well');
    assert.ok(k.includes(`${s1.id} -> loss`) && !k.includes(`${s0.id} -> loss`), 'only the final step feeds the loss');

    const trajectories = collectTrajectories(g, 'wrong');
    assert.deepEqual(
      trajectories.map((t) => t.path),
      [
        ['input:task.q', s0.id, `tool_call:${s0.id}:c1`, `tool_result:${s0.id}:c1`, s1.id, 'loss'],
        ['input:task.q', s1.id, 'loss'],
      ],
    );
    assert.deepEqual(trajectories[0].agents, ['manager']);
  });
});

describe('backward', () => {
  test('trajectories run input -> agents -> loss along kept edges only', () => {
    const { calls, attributions, ra, st } = threeAgentSample('s1', { a: 0.9, b: 0.2, topic: 0.5 });
    const { trajectories } = backwardSample('s1', calls, attributions, 'The story forgot the dog.', { topK: 1, outputAgent: 'storyteller' });
    assert.equal(trajectories.length, 1);
    assert.deepEqual(trajectories[0].path, ['input:task.a', ra.id, st.id, 'loss']);
    assert.deepEqual(trajectories[0].agents, ['reporterA', 'storyteller']);
    assert.equal(trajectories[0].loss, 'The story forgot the dog.');
  });

  test('a correct sample (empty loss) blames nobody', () => {
    const { calls, attributions } = threeAgentSample('s1', { a: 0.9, b: 0.2, topic: 0.5 });
    assert.deepEqual(backwardSample('s1', calls, attributions, '', { topK: 1, outputAgent: 'storyteller' }).trajectories, []);
  });

  test('top-2 gives two trajectories in block order; blame is the share of trajectories', () => {
    const { calls, attributions } = threeAgentSample('s1', { a: 0.1, b: 0.8, topic: 0.7 });
    const { trajectories } = backwardSample('s1', calls, attributions, 'bad', { topK: 2, outputAgent: 'storyteller' });
    assert.deepEqual(trajectories.map((t) => t.path[0]), ['input:task.b', 'input:task.topic']);
    const blame = agentBlame(trajectories, ['reporterA', 'reporterB', 'storyteller']);
    assert.deepEqual(blame, [
      { agent: 'storyteller', trajectories: 2, share: 1 },
      { agent: 'reporterB', trajectories: 1, share: 0.5 },
      { agent: 'reporterA', trajectories: 0, share: 0 },
    ]);
    assert.deepEqual(blamedAgents(trajectories), ['reporterB', 'storyteller']);
  });
});

describe('multi-turn', () => {
  test('each turn\'s task fields are separate input nodes; every turn\'s final output feeds the loss', () => {
    const t0 = makeCall('m1', 'agent', [{ id: 'task.user', source: { kind: 'task', field: 'user' } }], { turn: 0 });
    const t1 = makeCall('m1', 'agent', [{ id: 'task.user', source: { kind: 'task', field: 'user' } }], { turn: 1 });
    const g = buildAttributionGraph('m1', [t0, t1], [weights(t0, { 'task.user': 1 }), weights(t1, { 'task.user': 1 })], { topK: 1, outputAgent: 'agent' });
    assert.deepEqual(kept(g), [`input:task.user -> ${t0.id}`, `input:t1.task.user -> ${t1.id}`, `${t0.id} -> loss`, `${t1.id} -> loss`]);
    assert.equal(g.nodes.find((n) => n.id === 'input:t1.task.user')?.label, 'task.user (turn 1)');
  });
});
