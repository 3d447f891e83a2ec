/**
 * `npm run demo`'s system (examples/demo-blame) end to end on models/chord-retrieval: the replayed reporters, the
 * answerer in the model's format, connection weights, the verbal loss, the backward pass and the warnings optimizer.
 * The planted fault is Checker's wrong fact: the blame and the proposal must land on checker, and only there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderHtmlReport, summarizeRun } from '../../../../src/core/report';
import { optimizeExample } from '../optimizeExample';

test('demo-blame: the backward pass blames the planted agent, and only its prompt gets a proposal', { timeout: 120_000 }, async () => {
  const { system, promptsBefore, result, cleanup } = await optimizeExample('demo-blame');
  try {
    assert.equal(result.status, 'completed');
    const run = result.folder.read();
    assert.equal(run.calls.length, 8, '4 agents x 2 samples');

    // The answerer copied Checker's wrong fact, and its weights say so (Checker is the middle line, not the last).
    const answers = run.calls.filter((c) => c.agent === 'answerer');
    assert.deepEqual(answers.map((c) => c.output), [' a red ball.', ' a new hat.']);
    assert.match(answers[0].renderedInput, /^Planner: Max has a little bag\.\nChecker: Lucy has a red ball\.\nScout: .*\nQuestion: What does Lucy have\?\nAnswer:$/);
    for (const call of answers) {
      const a = run.attribution.find((x) => x.callId === call.id)!;
      assert.equal(a.status, 'ok', a.reason);
      assert.equal(a.surrogate, false);
      const top = Object.entries(a.weights).sort((x, y) => y[1] - x[1])[0][0];
      assert.equal(top, 'agent:checker', `${call.id}: ${JSON.stringify(a.weights)}`);
    }
    assert.ok(run.samples.every((s) => s.score === 0 && /but (Lucy|Ben) has a/.test(s.loss)));

    // Backward: every trajectory runs through checker; planner and scout are on none.
    assert.ok(run.trajectories.length >= 2);
    for (const t of run.trajectories) {
      assert.ok(t.agents.includes('checker'), t.path.join(' -> '));
      assert.ok(!t.agents.includes('planner') && !t.agents.includes('scout'), t.path.join(' -> '));
    }
    const summary = summarizeRun(run);
    assert.deepEqual(summary.blame.filter((b) => b.share > 0).map((b) => b.agent).sort(), ['answerer', 'checker']);

    // The warnings optimizer proposes a change to checker's prompt only (the answerer is optimize: false).
    assert.equal(run.proposals.length, 1);
    assert.deepEqual(run.proposals[0].changes.map((c) => c.agent), ['checker']);
    assert.match(run.proposals[0].changes[0].after, /## Warning\n\nFailures seen in earlier runs[\s\S]*Lucy has a red ball/);
    assert.deepEqual(system.agents.map((a) => readFileSync(a.promptFile, 'utf8')), promptsBefore, 'prompt files untouched');

    const html = await renderHtmlReport(run, { notes: ['chord-retrieval caveat'] });
    assert.match(html, /<svg /);
    assert.match(html, /checker/);
  } finally {
    await cleanup();
  }
});
