import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backwardSample } from '../../../../src/core/engine/backward';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import type { CallAttribution } from '../../../../src/core/engine/types';
import { formatSummary, renderHtmlReport, summarizeRun } from '../../../../src/core/report';
import { runReport } from '../../../../src/cli/commands/report';
import { threeAgentSample } from '../engine/loopFixtures';

/** A run folder with one failed sample whose storyteller call has token saliency (as a surrogate model). */
function recordedRun() {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-report-'));
  const folder = RunFolder.create(dir, {
    systemFile: join(dir, 'agentchord.yaml'),
    kind: 'run',
    status: 'completed',
    dataset: { split: 'train', file: 'data/train.jsonl', samples: 1 },
    attribution: { model: 'tiny', strategy: 'mean_l1_norm', topK: 1, surrogate: true },
    usage: { calls: 3, promptTokens: 30, completionTokens: 15, costUsd: 0 },
  });
  const { calls, attributions, st } = threeAgentSample('s1', { a: 0.9, b: 0.2, topic: 0.5 });
  // Token ranges: reporterA's block is tokens 10-12, reporterB's 12-14, topic 14-15; the tail starts at 10.
  st.blocks[0].tokenStart = 10;
  st.blocks[0].tokenEnd = 12;
  st.blocks[1].tokenStart = 12;
  st.blocks[1].tokenEnd = 14;
  st.blocks[2].tokenStart = 14;
  st.blocks[2].tokenEnd = 15;
  const storyAttribution: CallAttribution = {
    ...attributions[2],
    surrogate: true,
    attributionModel: 'tiny',
    connections: {
      'agent:reporterA': { meanL1: 0.9, maxL1: 1.2, meanGradInput: 0.1, maxGradInput: 0.3 },
      'agent:reporterB': { meanL1: 0.2, maxL1: 0.25, meanGradInput: -0.05, maxGradInput: 0.01 },
      'task.topic': { meanL1: 0.5, maxL1: 0.5, meanGradInput: 0.2, maxGradInput: 0.2 },
    },
    tokens: { pieces: ['▁Tom', '▁had', '▁Sue', '<script>', '▁park'], texts: [' Tom', ' had', ' Sue', '<script>', ' park'], offset: 10, l1: [1.2, 0.6, 0.3, 0.1, 0.5], gradInput: [0.3, -0.1, 0.01, -0.11, 0.2] },
  };
  for (const c of calls) folder.appendCall(c);
  for (const a of [attributions[0], attributions[1], storyAttribution]) folder.appendAttribution(a);
  const loss = 'The story never mentions the dog.';
  const back = backwardSample('s1', calls, [attributions[0], attributions[1], storyAttribution], loss, { topK: 1, outputAgent: 'storyteller' });
  folder.appendSample({ sampleId: 's1', split: 'train', output: st.output, metrics: { contains: 0.5 }, score: 0.5, loss });
  folder.appendGraph(back.graph);
  folder.appendTrajectories(back.trajectories);
  return { folder, dir };
}

describe('report', () => {
  test('summary: blame, weights with kept marks, trajectories', () => {
    const { folder } = recordedRun();
    const s = summarizeRun(folder.read());
    assert.deepEqual(s.blame.map((b) => [b.agent, b.share]), [
      ['reporterA', 1],
      ['storyteller', 1],
      ['reporterB', 0],
    ]);
    const story = s.calls.find((c) => c.agent === 'storyteller')!;
    assert.deepEqual(story.weights.map((w) => [w.block, w.weight, w.kept]), [
      ['agent:reporterA', 0.9, true],
      ['agent:reporterB', 0.2, false],
      ['task.topic', 0.5, false],
    ]);
    assert.ok(s.surrogate);
    assert.deepEqual(s.recency, { calls: 1, lastBlockTop: 0 }, 'task.topic (the last block) is not the top one');
    assert.deepEqual(s.salientTokens, [{ callId: 's1/t0/storyteller/s0', agent: 'storyteller', tokens: ['Tom', 'had', 'Sue', 'park'] }], 'words only, in text order');
    const text = formatSummary(s);
    assert.match(text, /reporterA\s+100%/);
    assert.match(text, /agent:reporterA=0\.900\* {2}agent:reporterB=0\.200 {2}task\.topic=0\.500/);
    assert.match(text, /\[s1\] input:task\.a -> s1\/t0\/reporterA\/s0 -> s1\/t0\/storyteller\/s0 -> loss/);
    assert.match(text, /SURROGATE/);
    assert.match(text, /recency check: the last block got the highest weight in 0 of 1/);
  });

  test("no SURROGATE when the weighted call ran on the attribution model itself (demo-blame's shape)", async () => {
    // Replayed reporters are single-block calls (weight 1, no model involved), recorded as surrogate because their
    // model is not the attribution model; the storyteller ran on the attribution model. run.json says surrogate: true
    // (some agent runs on another model), as demo-blame's does.
    const { folder } = recordedRun();
    const run = folder.read();
    run.attribution = run.attribution.map((a) => (a.status === 'single-block' ? { ...a, surrogate: true } : { ...a, surrogate: false }));
    const s = summarizeRun(run);
    assert.equal(s.surrogate, false);
    assert.doesNotMatch(formatSummary(s), /SURROGATE/);
    assert.doesNotMatch(await renderHtmlReport(run), /Surrogate model:/);
  });

  test('HTML report is self-contained and holds the graph and the heat map', async () => {
    const { folder } = recordedRun();
    const html = await renderHtmlReport(folder.read(), { notes: ['The tiny model mostly weighs the most recent block.'] });
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'no remote resources');
    assert.doesNotMatch(html, /https?:\/\//, 'no URLs at all');
    assert.doesNotMatch(html, /<script>/, 'token text is escaped');
    assert.match(html, /<style>/);
    // The graph: one SVG with the five nodes and the kept / dropped edges.
    assert.equal((html.match(/<svg /g) ?? []).length, 1);
    for (const label of ['task.a', 'reporterA', 'reporterB', 'storyteller', '>loss<']) assert.ok(html.includes(label), label);
    assert.match(html, /class="edge kept"/);
    assert.match(html, /class="edge dropped"/);
    assert.match(html, />0\.900</);
    // The heat map: one span per token with its scaled saliency, the four strategies, the legend, the surrogate label.
    assert.match(html, /<span class="tok" style="--l1:1\.000;--gi:1\.000"[^>]*> Tom<\/span>/);
    assert.match(html, /<span class="tok" style="--l1:0\.083;[^"]*"[^>]*>&lt;script&gt;<\/span>/);
    assert.match(html, /mean L1.*max L1.*mean g&middot;e.*max g&middot;e/s);
    assert.match(html, /class="legend"/);
    assert.match(html, /surrogate model tiny/);
    assert.match(html, /<b>Surrogate model:<\/b>/);
    assert.match(html, /The tiny model mostly weighs the most recent block\./);
    // Deterministic layout.
    assert.equal(html, await renderHtmlReport(folder.read(), { notes: ['The tiny model mostly weighs the most recent block.'] }));
  });

  test('a call with per-token saliency longer than any argument list renders (no Math.max(...tokens))', async () => {
    const { folder } = recordedRun();
    const run = folder.read();
    const story = run.attribution.find((a) => a.tokens)!;
    const n = 300_000;
    story.tokens = {
      pieces: Array.from({ length: n }, (_, i) => (i === 0 ? '▁Tom' : '▁x')),
      texts: Array.from({ length: n }, (_, i) => (i === 0 ? ' Tom' : ' x')),
      offset: 10,
      l1: Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 1)),
      gradInput: Array.from({ length: n }, (_, i) => (i === 0 ? -4 : 1)),
    };
    const html = await renderHtmlReport(run);
    assert.match(html, /<span class="tok" style="--l1:1\.000;--gi:1\.000"[^>]*> Tom<\/span>/);
    assert.match(html, /<span class="tok" style="--l1:0\.500;--gi:0\.250"[^>]*> x<\/span>/);
  });

  test('agentchord report --json --html writes the report file', async () => {
    const { folder, dir } = recordedRun();
    const out = join(dir, 'out', 'report.html');
    const writes: string[] = [];
    assert.equal(await runReport([folder.dir, '--json', '--html', out], (t) => writes.push(t)), 0);
    const json = JSON.parse(writes.join(''));
    assert.equal(json.html, out);
    assert.equal(json.blame[0].agent, 'reporterA');
    assert.match(readFileSync(out, 'utf8'), /<svg /);
    await assert.rejects(runReport([join(dir, 'nope')], () => undefined), /not a run folder/);
  });
});
