// The prompt-file CodeLens texts: short titles (one lens each for blame, strongest in, strongest out, loss) with the
// numbers behind them in the tooltips.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lensTexts, type AgentRunSummary } from '../../../../../src/extension/pure/codelens/agentSummary';

const trajectory = (sampleId: string) => ({ sampleId, path: [], agents: ['checker', 'answerer'], loss: 'wrong' });

const checker: AgentRunSummary = {
  agent: 'checker',
  blameShare: 1,
  trajectories: [trajectory('s1'), trajectory('s2')],
  totalTrajectories: 2,
  strongestIn: { other: 'task.scene', weight: 1, share: 1, sampleId: 's1' },
  strongestOut: { other: 'answerer', weight: 0.00081234, share: 0.834, sampleId: 's2' },
  lossSummary: '2/3 samples failed: The answer names the wrong room and the checker did not notice it at all',
};

describe('CodeLens texts', () => {
  test('one short lens per fact, in order, each with its detail in the tooltip', () => {
    const lenses = lensTexts(checker);
    assert.deepEqual(lenses.map((l) => l.kind), ['blame', 'incoming', 'outgoing', 'loss']);
    assert.deepEqual(lenses.map((l) => l.title), ['blame 100% · 2/2 trajectories', 'in: task.scene 100%', 'out: → answerer 83%', '2/3 samples failed']);
    // Short enough that the four fit on one editor line (the old lenses took about 180).
    assert.ok(lenses.map((l) => l.title).join(' | ').length < 100);
    const [blame, incoming, outgoing, loss] = lenses.map((l) => l.tooltip);
    assert.equal(blame, "AgentChord: checker is on 2 of the latest run's 2 failing trajectories (input → … → loss). Click to list them.");
    assert.equal(incoming, 'Strongest incoming connection: task.scene → checker carries 100% of its input (w 1.00), sample s1. Click to open the graph on checker.');
    assert.equal(outgoing, 'Strongest outgoing connection: checker → answerer carries 83% of its input (w 8.12e-4), sample s2. Click to open the graph on checker.');
    assert.match(loss!, /^Latest run: 2\/3 samples failed: The answer names the wrong room/);
  });

  test('the blame lens starts with "blame <share>%"; missing connections give no lens; no failure, no blame', () => {
    const passed: AgentRunSummary = { agent: 'planner', blameShare: 0, trajectories: [], totalTrajectories: 0, lossSummary: 'all 3 samples passed' };
    const lenses = lensTexts(passed);
    assert.deepEqual(lenses.map((l) => [l.kind, l.title]), [['blame', 'blame 0% · 0/0 trajectories'], ['loss', 'all 3 samples passed']]);
    assert.match(lenses[0]!.tooltip, /no failing trajectory/);
    assert.match(lensTexts({ ...checker, blameShare: 0.5 })[0]!.title, /^blame 50%/);
  });
});
