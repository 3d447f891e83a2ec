/**
 * Blame you can check, on models/chord-retrieval (shipped in the project): the engine's path (replay reporters,
 * `input: { format: lines }`, block map, token ranges, backend) reproduces the shipped cases exactly, and its
 * connection weights are those of `agentchord attribute` on the same spans.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildAttributionRequest } from '../../../../src/core/engine/attribution';
import { inProcessModels } from '../../../../src/backend/inProcess';
import type { LocalModels } from '../../../../src/protocol/localModel';
import { generateCases, loadShippedCases, runCase, type CaseRun } from '../../../../bench/blame/cases';
import { repoPath } from '../../repo';

const MODEL = repoPath('models', 'chord-retrieval');
const shipped = loadShippedCases(join(MODEL, 'cases.json'));

describe('chord-retrieval cases through the engine', () => {
  let work: string;
  let backend: LocalModels;
  const runs: CaseRun[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'agentchord-blame-'));
    backend = inProcessModels({ cacheDir: join(work, 'graphs') });
    for (const c of shipped) runs.push(await runCase(c, join(work, c.id), MODEL, backend));
  });
  after(async () => {
    await backend.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('the shipped cases parse into 2-4 labelled lines with a source line', () => {
    assert.equal(shipped.length, 50);
    for (const c of shipped) {
      assert.ok(c.lines.length >= 2 && c.lines.length <= 4, c.id);
      assert.ok(c.source >= 0 && c.source < c.lines.length, c.id);
      assert.ok(c.lines[c.source].text.includes(`${c.person} has a${c.answer.replace(/^ a/, '').replace(/\.$/, '')}`), c.id);
    }
  });

  test("the engine's token ranges are the cases' block spans, and its ids the cases' ids", { timeout: 120_000 }, async () => {
    const model = await backend.model(MODEL, 'cpu');
    for (const run of runs) {
      const c = run.case.shipped!;
      assert.equal(run.attribution.status, 'ok', `${run.case.id}: ${run.attribution.reason}`);
      // The rendered text is the case's text up to the answer, exactly.
      assert.equal(run.call.messages.length, 1);
      assert.equal(run.call.renderedInput, c.text.slice(0, c.text.lastIndexOf('Answer:') + 'Answer:'.length), run.case.id);
      const ranges = run.call.blocks.map((b) => [b.tokenStart, b.tokenEnd]);
      assert.deepEqual(ranges, c.blocks.map((b) => [b.start, b.end]), `${run.case.id}: block token ranges`);
      const built = await buildAttributionRequest(model, run.call);
      assert.ok(!('unavailable' in built));
      assert.equal(built.request.prefixLength, 1, 'prefix = BOS');
      assert.equal(built.request.targetStart, c.answerStart);
      assert.deepEqual(built.request.inputIds.slice(0, c.answerStart), c.inputIds.slice(0, c.answerStart), `${run.case.id}: input ids`);
      assert.deepEqual(built.request.spans.map((s) => [s.start, s.end]), c.blocks.map((b) => [b.start, b.end]));
    }
  });

  test('the model answers the shipped cases (greedy, exact match)', () => {
    const exact = runs.filter((r) => r.call.output === r.case.answer).length;
    // 49 of 50 on this build (the README: 98.8% on its held-out cases).
    assert.ok(exact >= 48, `${exact} of ${runs.length} exact`);
  });

  test('top-1 block beats the recency baseline on the shipped cases', () => {
    const top1 = runs.filter((r) => {
      const weights = r.call.blocks.map((b) => r.attribution.weights[b.id]);
      return weights.indexOf(Math.max(...weights)) === r.case.source;
    }).length;
    const recency = runs.filter((r) => r.case.source === r.case.lines.length - 1).length;
    assert.ok(top1 > recency + 10, `top-1 ${top1} vs recency ${recency} of ${runs.length}`);
  });

  test("the engine's connection weights equal `agentchord attribute` on the same spans", { timeout: 120_000 }, async () => {
    const picked = runs.filter((r) => r.call.output === r.case.answer).slice(0, 4);
    assert.equal(picked.length, 4);
    const cli = join(work, 'cli.js');
    await build({ entryPoints: [repoPath('src/cli/main.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: cli, external: ['vscode', 'onnxruntime-node'], logLevel: 'silent' });
    const requests = picked.map((r) => {
      const c = r.case.shipped!;
      return { inputIds: c.inputIds, prefixLength: 1, targetStart: c.answerStart, spans: c.blocks };
    });
    const file = join(work, 'requests.json');
    writeFileSync(file, JSON.stringify(requests));
    const out = spawnSync(process.execPath, [cli, 'attribute', '--model', MODEL, '--request', file, '--device', 'cpu'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: repoPath('node_modules'), ORT_DISABLE_TELEMETRY: '1' },
    });
    assert.equal(out.status, 0, out.stderr);
    const results = JSON.parse(out.stdout) as Array<{ connections: Record<string, Record<string, number>> }>;
    picked.forEach((r, k) => {
      r.call.blocks.forEach((block, i) => {
        const expected = results[k].connections[r.case.shipped!.blocks[i].id];
        const actual = r.attribution.connections![block.id] as unknown as Record<string, number>;
        for (const field of ['meanL1', 'maxL1', 'meanGradInput', 'maxGradInput']) {
          const tolerance = 1e-5 * Math.max(1, Math.abs(expected[field]));
          assert.ok(Math.abs(actual[field] - expected[field]) <= tolerance, `${r.case.id} ${block.id} ${field}: ${actual[field]} vs ${expected[field]}`);
        }
      });
    });
  });
});

test('generated cases are deterministic and in the shipped format', () => {
  const a = generateCases(shipped, 20, 7);
  assert.deepEqual(generateCases(shipped, 20, 7), a);
  assert.notDeepEqual(generateCases(shipped, 20, 8), a);
  for (const c of a) {
    assert.ok(c.lines.length >= 2 && c.lines.length <= 4);
    assert.equal(new Set(c.lines.map((l) => l.label)).size, c.lines.length);
    assert.ok(c.lines[c.source].text.includes(`${c.person} has${c.answer.replace(/\.$/, '')}`), `${c.id}: source line holds the answer`);
    assert.equal(c.lines.filter((l) => l.text.includes(`${c.person} has`)).length, 1, `${c.id}: the person is in one line only`);
  }
});
