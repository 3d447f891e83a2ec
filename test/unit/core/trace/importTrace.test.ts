// importTrace: the run folder it writes (complete or not at all), the scaffold workspace, and a 100 MB export read in
// bounded memory (a process whose heap could not hold the file's text).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { importTrace } from '../../../../src/core/trace/importTrace';
import { loadSystemFile } from '../../../../src/core/system';
import { buildCli } from '../../backend/server/helpers';
import { runCli } from '../../cli/runCli';
import { repoPath } from '../../repo';
import { agentSpan, exportRequest, flatLlm, otlpSpan } from './otlp';

const GENAI = repoPath('test/fixtures/traces/genai-openai.otlp.jsonl');
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `agentchord-${name}-`));

describe('importTrace', () => {
  test('writes a complete run folder marked as imported, with the source hash; report readers accept it', async () => {
    const out = join(tmp('import'), 'run');
    const result = await importTrace({ files: [GENAI], out });
    assert.equal(result.runDir, out);
    assert.deepEqual(result.agents, ['planner', 'researcher', 'writer']);
    assert.deepEqual(result.edges, [
      { from: 'planner', to: 'researcher', blocks: 4 },
      { from: 'researcher', to: 'writer', blocks: 2 },
    ]);
    const run = RunFolder.open(out).read();
    assert.equal(run.manifest.status, 'completed');
    assert.equal(run.manifest.imported?.sources[0].sha256, createHash('sha256').update(readFileSync(GENAI)).digest('hex'));
    assert.equal(run.manifest.imported?.sources[0].format, 'otlp-json');
    assert.equal(run.manifest.imported?.traces, 2);
    assert.equal(run.calls.length, 8);
    assert.ok(run.calls.every((c) => c.runId === run.manifest.id && c.source?.convention === 'gen_ai events'));
    assert.equal(run.attribution.length, 8);
    assert.ok(run.attribution.every((a) => a.status === 'unavailable' && /agentchord blame/.test(a.reason ?? '')));
    assert.equal(run.graphs.length, 2);
    assert.equal(run.graphs[0].weighting, 'unweighted');
    assert.deepEqual(readdirSync(join(out, '..')), ['run'], 'no staging folder left behind');
    // An empty folder named as --out is used (e.g. one the user just created).
    const empty = join(tmp('import-empty'), 'run');
    mkdirSync(empty);
    assert.equal((await importTrace({ files: [GENAI], out: empty })).runDir, empty);
    assert.equal(RunFolder.open(empty).read().calls.length, 8);
  });

  test('spans and GenAI log records in separate files (two exporters of one export) read as one', async () => {
    const dir = tmp('import-split');
    const lines = readFileSync(GENAI, 'utf8').trim().split('\n');
    const spans = join(dir, 'traces.jsonl');
    const logs = join(dir, 'logs.jsonl');
    writeFileSync(spans, lines.filter((l) => l.startsWith('{"resourceSpans"')).join('\n') + '\n');
    writeFileSync(logs, lines.filter((l) => l.startsWith('{"resourceLogs"')).join('\n') + '\n');
    const whole = await importTrace({ files: [GENAI], out: join(dir, 'whole') });
    const split = await importTrace({ files: [spans, logs], out: join(dir, 'split') });
    const strip = (runDir: string) => RunFolder.open(runDir).read().calls.map(({ runId: _r, ...c }) => c);
    assert.deepEqual(strip(split.runDir), strip(whole.runDir));
    assert.equal(RunFolder.open(split.runDir).read().manifest.imported?.sources.length, 2);
    await assert.rejects(importTrace({ files: [spans], out: join(dir, 'spans-only') }), /record no message content/, 'the logs hold the content');
  });

  test('never writes over a run, and a failed import leaves nothing', async () => {
    const dir = tmp('import-refuse');
    const out = join(dir, 'run');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    await assert.rejects(importTrace({ files: [GENAI], out }), /already exists; name a new folder/);
    assert.equal(readFileSync(join(out, 'keep.txt'), 'utf8'), 'mine');
    const bad = join(dir, 'bad-run');
    await assert.rejects(importTrace({ files: [repoPath('test/fixtures/traces/genai-openai-nocontent.otlp.jsonl')], out: bad }), /no message content/);
    assert.deepEqual(readdirSync(dir).sort(), ['run']);
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled'));
    await assert.rejects(importTrace({ files: [GENAI], out: bad, signal: cancelled.signal }));
    assert.deepEqual(readdirSync(dir).sort(), ['run']);
  });

  test('--scaffold: a workspace that validates, one prompt per agent holding the recorded system prompt, verdicts as data', async () => {
    const dir = join(tmp('scaffold'), 'ws');
    const verdicts = join(dir, '..', 'verdicts.jsonl');
    writeFileSync(verdicts, JSON.stringify({ traceId: 'b1109f2bbe6bf44889ea650de0bef5ae', loss: 'Too vague about the timing of the rain.', score: 0 }) + '\n');
    const model = repoPath('models/chord-retrieval');
    const result = await importTrace({ files: [GENAI], scaffold: dir, verdicts, attributionModel: model });
    const { system, problems } = loadSystemFile(join(dir, 'agentchord.yaml'));
    assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);
    assert.ok(system);
    assert.deepEqual(system.agents.map((a) => [a.name, a.inputs.map((i) => (i.kind === 'agent' ? i.agent : `task.${i.field}`))]), [
      ['planner', ['task.user']],
      ['researcher', ['planner', 'task.user']],
      ['writer', ['researcher', 'task.user']],
    ]);
    assert.equal(system.output, 'writer');
    assert.equal(system.attribution.model, 'surrogate');
    assert.match(readFileSync(join(dir, 'prompts/planner.chord.md'), 'utf8'), /You are the planner\. Break the user's question/);
    const data = readFileSync(join(dir, 'data/traces.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(data[0].verdict.score, 0);
    assert.equal(data[0].user, 'Should I pack an umbrella for a day trip to Lisbon tomorrow?');
    assert.match(data[0].replies.writer, /^Yes, pack an umbrella/);
    assert.equal(data.length, 1, 'only judged traces are training data');
    assert.equal(JSON.parse(readFileSync(join(dir, 'data/unjudged.jsonl'), 'utf8')).id, '1b2dd7bc21c5fe483d1b1e0f30705e59');
    // The run lives in the workspace, its calls point at the scaffold's prompt files.
    assert.equal(result.runDir.startsWith(join(dir, '.agentchord', 'runs')), true);
    const run = RunFolder.open(result.runDir).read();
    assert.equal(run.manifest.systemFile, join(dir, 'agentchord.yaml'));
    assert.ok(run.calls.every((c) => c.promptFile === join(dir, 'prompts', `${c.agent}.chord.md`)));
    // A second scaffold into the same folder refuses and changes nothing.
    await assert.rejects(importTrace({ files: [GENAI], scaffold: dir }), /agentchord\.yaml already exists/);
    assert.equal(readdirSync(join(dir, '.agentchord', 'runs')).length, 1);
  });
});

describe('a 100 MB export', () => {
  let cli: string;
  before(async () => {
    cli = await buildCli();
  });

  test('is streamed: imported by a process with a 96 MB heap, every trace found', async () => {
    const dir = tmp('big');
    const file = join(dir, 'big.otlp.jsonl');
    const fd = openSync(file, 'w');
    let bytes = 0;
    let traces = 0;
    const filler = 'SELECT * FROM orders WHERE id = ? '.repeat(75); // ~2.5 KB, as database spans carry
    for (let line = 0; bytes < 100 * 1024 * 1024; line++) {
      const traceId = line.toString(16).padStart(32, '0');
      const spans = Array.from({ length: 400 }, (_, k) => otlpSpan({ traceId, spanId: `c${line.toString(16).padStart(7, '0')}${k.toString(16).padStart(8, '0')}`, name: 'db.query', at: k, attributes: { 'db.statement': filler } }));
      const request = exportRequest([]) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
      request.resourceSpans[0].scopeSpans[0].spans = spans;
      if (line % 10 === 0) {
        const agent = agentSpan('a' + line.toString(16).padStart(15, '0'), 'alpha', 0);
        request.resourceSpans[0].scopeSpans[0].spans.push(otlpSpan({ ...agent, traceId }), otlpSpan({ ...flatLlm('b' + line.toString(16).padStart(15, '0'), agent.spanId, 1, 'You are alpha.', `Task ${line}`, 'Done.'), traceId }));
        traces++;
      }
      const text = JSON.stringify(request) + '\n';
      writeSync(fd, text);
      bytes += Buffer.byteLength(text);
    }
    closeSync(fd);
    const out = join(dir, 'run');
    const { code, stdout, stderr } = await runCli(cli, ['import', file, '--out', out, '--json'], join(dir, 'cache'), ['--max-old-space-size=96']);
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(stdout).traces.length, traces);
    assert.equal(RunFolder.open(out).read().calls.length, traces);
    assert.ok(!existsSync(join(dir, '.run.importing')), 'nothing staged is left');
  });
});
