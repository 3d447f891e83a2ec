/**
 * The demo's system (examples/demo-stories) end to end on the real local model stories260k: generation, gradients,
 * loss, backward, the warnings optimizer, a proposal and the HTML report. Runs in a temp workspace, uncached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderHtmlReport, summarizeRun } from '../../../../src/core/report';
import { optimizeExample } from '../optimizeExample';

test('demo-stories runs end to end offline on stories260k', { timeout: 120_000 }, async () => {
  const { system, promptsBefore, result, cleanup } = await optimizeExample('demo-stories', { steps: 1, batchSize: 2, acceptanceTest: false });
  try {
    assert.equal(result.status, 'completed');
    const run = result.folder.read();
    assert.equal(run.calls.length, 6, '3 agents x 2 samples');
    const story = run.attribution.filter((a) => a.callId.endsWith('/storyteller/s0'));
    assert.equal(story.length, 2);
    for (const a of story) {
      assert.equal(a.status, 'ok', a.reason);
      assert.deepEqual(Object.keys(a.weights).sort(), ['agent:reporterA', 'agent:reporterB', 'task.place']);
      assert.ok(Object.values(a.weights).every((w) => Number.isFinite(w) && w > 0));
      assert.ok(a.tokens && a.tokens.l1.length > 10);
    }
    assert.equal(run.graphs.length, 2);
    assert.ok(run.graphs.every((g) => g.weighting === 'weighted'));
    // The tiny model misses at least one name or toy in these samples, so there is something to blame.
    assert.ok(run.samples.some((s) => s.loss !== ''));
    assert.ok(run.trajectories.length > 0 && run.trajectories.every((t) => t.path.at(-1) === 'loss' && t.path[0].startsWith('input:task.')));
    assert.equal(run.proposals.length, 1);
    const change = run.proposals[0].changes[0];
    assert.match(change.after, /## Warning\n\nFailures seen in earlier runs/);
    assert.deepEqual(system.agents.map((a) => readFileSync(a.promptFile, 'utf8')), promptsBefore, 'prompt files untouched');

    const summary = summarizeRun(run);
    assert.equal(summary.recency.calls, 2);
    assert.ok(summary.salientTokens.length === 2);
    const html = await renderHtmlReport(run, { notes: ['stories260k caveat'] });
    assert.match(html, /<svg /);
    assert.match(html, /class="tok"/);
    assert.doesNotMatch(html, /https?:\/\//);
  } finally {
    await cleanup();
  }
});
