// blame on an imported run, end to end on the shipped chord-retrieval model: gradient weights for every multi-block
// call (surrogate), verdicts from a loss file or references, trajectories, the report; bad verdict files named.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessModels } from '../../../../src/backend/inProcess';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { formatSummary, renderHtmlReport, summarizeRun } from '../../../../src/core/report';
import { blameRun } from '../../../../src/core/trace/blame';
import { importTrace } from '../../../../src/core/trace/importTrace';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { repoPath } from '../../repo';

const MODEL = repoPath('models/chord-retrieval');
const LISBON = 'b1109f2bbe6bf44889ea650de0bef5ae';
const NICE = '1b2dd7bc21c5fe483d1b1e0f30705e59';
const work = mkdtempSync(join(tmpdir(), 'agentchord-blame-'));
const models = inProcessModels({ cacheDir: join(work, 'cache') });
after(() => models.dispose());

async function imported(name = 'genai-openai.otlp.jsonl'): Promise<string> {
  const out = join(mkdtempSync(join(work, 'run-')), 'run');
  await importTrace({ files: [repoPath('test/fixtures/traces', name)], out });
  return out;
}

function file(name: string, lines: unknown[]): string {
  const path = join(work, name);
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}

describe('blame', () => {
  test('weights on chord-retrieval (a surrogate), a loss file, trajectories into the failing trace only, the report', async () => {
    const runDir = await imported();
    const before = readFileSync(join(runDir, 'calls.jsonl'), 'utf8');
    const verdicts = file('verdicts.jsonl', [
      { traceId: LISBON, loss: 'The answer should say the rain comes only in the afternoon.', score: 0 },
      { traceId: NICE, loss: '', score: 1 },
    ]);
    const result = await blameRun(runDir, { modelPath: MODEL, device: 'cpu', models, strategy: 'max_l1_norm', topK: 1, verdicts: { kind: 'loss-file', file: verdicts } });
    const run = RunFolder.open(runDir).read();
    // Every call with several blocks got gradient weights; the one-block planner calls weight 1.
    for (const c of run.calls) {
      const a = run.attribution.find((x) => x.callId === c.id)!;
      if (c.blocks.length === 1) assert.equal(a.status, 'single-block');
      else {
        assert.equal(a.status, 'ok', `${c.id}: ${a.reason}`);
        assert.equal(a.surrogate, true, 'the agents ran on test-model, attributed on chord-retrieval');
        assert.deepEqual(Object.keys(a.weights).sort(), c.blocks.map((b) => b.id).sort());
        assert.ok(Object.values(a.weights).every((w) => Number.isFinite(w) && w > 0));
        assert.ok(c.blocks.every((b) => typeof b.tokenStart === 'number' && b.tokenEnd! > b.tokenStart!), 'token ranges written back');
      }
    }
    assert.notEqual(readFileSync(join(runDir, 'calls.jsonl'), 'utf8'), before);
    assert.equal(run.manifest.attribution.model, 'chord-retrieval');
    assert.equal(run.manifest.blame?.verdicts, `loss file ${verdicts}`);
    assert.deepEqual(run.samples.map((s) => [s.sampleId, s.score]), [[LISBON, 0], [NICE, 1]]);
    assert.ok(run.trajectories.length > 0);
    assert.ok(run.trajectories.every((t) => t.sampleId === LISBON && t.path[t.path.length - 1] === 'loss' && t.agents.includes('writer')));
    assert.deepEqual(result.unjudged, []);
    // Every trajectory ends at the output agent: it carries the whole blame; upstream shares follow the weights.
    assert.equal(result.blame.find((b) => b.agent === 'writer')?.share, 1);

    const summary = summarizeRun(run);
    assert.equal(summary.surrogate, true);
    const text = formatSummary(summary);
    assert.match(text, /SURROGATE/);
    assert.match(text, /imported: 2 trace\(s\) from .*genai-openai\.otlp\.jsonl \(sha256 [0-9a-f]{12}…\); verdicts: loss file /);
    assert.match(text, /\n\s+writer\s+100%/);
    const html = await renderHtmlReport(run, { notes: [] });
    assert.match(html, /writer/);
    assert.match(html, /class="heat/);
    assert.match(html, /Imported from a recorded trace: 2 trace\(s\)/);
  });

  test('references with a builtin metric; a trace without a reference is not judged', async () => {
    const runDir = await imported('openinference-openai.otlp.jsonl');
    const ids = [...new Set(RunFolder.open(runDir).read().calls.map((c) => c.sampleId))];
    const references = file('references.jsonl', [{ traceId: ids[0], reference: 'bring sunscreen' }]);
    const result = await blameRun(runDir, { models, modelPath: MODEL, device: 'cpu', verdicts: { kind: 'reference', file: references, metric: 'contains' } });
    assert.equal(result.samples.find((s) => s.sampleId === ids[0])?.score, 0);
    assert.match(result.samples.find((s) => s.sampleId === ids[0])!.loss, /should mention "bring sunscreen"/);
    assert.deepEqual(result.unjudged, [ids[1]]);
    assert.ok(result.trajectories.length > 0 && result.trajectories.every((t) => t.sampleId === ids[0]));
  });

  test('an LLM judge on an OpenAI-compatible endpoint gives the verdicts (with references in its prompt)', async () => {
    const runDir = await imported();
    const server = await OpenAITestServer.start({
      replies: [reply.text('{"score": 0.2, "feedback": "It never says the rain is in the afternoon."}'), reply.text('{"score": 1, "feedback": ""}')],
    });
    try {
      const provider = new OpenAIProvider({ baseUrl: server.baseUrl, model: 'judge' });
      const references = file('judge-refs.jsonl', [{ traceId: LISBON, reference: 'Rain in the afternoon: take an umbrella.' }]);
      const result = await blameRun(runDir, { models, modelPath: MODEL, device: 'cpu', verdicts: { kind: 'judge', provider, referenceFile: references } });
      assert.deepEqual(result.samples.map((s) => [s.sampleId, s.score, s.loss]), [
        [LISBON, 0.2, 'It never says the rain is in the afternoon.'],
        [NICE, 1, ''],
      ]);
      const first = JSON.stringify(server.completionRequests[0].body);
      assert.match(first, /Reference answer:\\nRain in the afternoon/);
      assert.match(first, /Output to grade:\\nYes, pack an umbrella/);
      assert.ok(result.trajectories.length > 0 && result.trajectories.every((t) => t.sampleId === LISBON));
    } finally {
      await server.close();
    }
  });

  test('bad verdict files are errors naming file, line and field; the run folder is unchanged', async () => {
    const runDir = await imported();
    const snapshot = () => ['calls.jsonl', 'attribution.jsonl', 'run.json'].map((f) => readFileSync(join(runDir, f), 'utf8'));
    const before = snapshot();
    const blame = (lines: unknown[]) => blameRun(runDir, { models, modelPath: MODEL, device: 'cpu', verdicts: { kind: 'loss-file', file: file('bad.jsonl', lines) } });
    await assert.rejects(blame([{ traceId: 'feedfeedfeedfeedfeedfeedfeedfeed', loss: 'x', score: 0 }]), /bad\.jsonl: trace id\(s\) not in the run: feedfeed/);
    await assert.rejects(blame([{ traceId: LISBON, loss: 'x', score: 3 }]), /bad\.jsonl:1: "score" must be a number from 0 to 1/);
    await assert.rejects(blame([{ loss: 'x', score: 0 }]), /bad\.jsonl:1: "traceId" must be the trace id/);
    writeFileSync(join(work, 'broken.jsonl'), `{"traceId": "${LISBON}", "loss": "", "score": 1}\n{oops\n`);
    await assert.rejects(blameRun(runDir, { models, modelPath: MODEL, verdicts: { kind: 'loss-file', file: join(work, 'broken.jsonl') } }), /broken\.jsonl:2: not valid JSON/);
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled'));
    await assert.rejects(blameRun(runDir, { models, modelPath: MODEL, device: 'cpu', verdicts: { kind: 'none' }, signal: cancelled.signal }));
    assert.deepEqual(snapshot(), before);
  });
});
