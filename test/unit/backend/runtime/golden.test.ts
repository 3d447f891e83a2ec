/**
 * Golden test of the attribution engine against an independent float64 PyTorch reference.
 *
 * Each fixture in test/fixtures/attribution/ names a tiny random model by its writeRandomModel spec (seed included)
 * and holds requests with the reference's output (bench/reference/make_fixtures.py wrote them; regenerate with
 * `/usr/bin/python3 bench/reference/make_fixtures.py`). Here the model is regenerated, loaded by the real engine
 * (float32, CPU) and every request is compared: logProb, per-token L1 and gradient·input, and the span connections.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../repo';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';
import { loadModel } from '../../../../src/backend/runtime/loadModel';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import type { AttributionRequest, AttributionResult } from '../../../../src/protocol/attribution';

interface GoldenFixture {
  model: RandomModelSpec;
  /** sha256 of the files writeRandomModel wrote when the fixture was made. */
  modelSha256: Record<string, string>;
  cases: Array<{ name: string; request: AttributionRequest; expected: AttributionResult }>;
}

const FIXTURE_DIR = repoPath('test', 'fixtures', 'attribution');
const fixtureFiles = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();

/** float32 against float64: relative 1e-3, plus an absolute floor of 1e-3 of the vector's largest magnitude so that
 * values near zero (gradient·input changes sign) are not held to a relative bound they cannot meet. */
const RTOL = 1e-3;

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const atol = RTOL * Math.max(...expected.map(Math.abs));
  expected.forEach((e, i) => {
    const a = actual[i]!;
    assert.ok(Number.isFinite(a), `${what}[${i}]: ${a} is not finite`);
    assert.ok(Math.abs(a - e) <= atol + RTOL * Math.abs(e), `${what}[${i}]: got ${a}, reference ${e}`);
  });
}

function assertMatchesReference(actual: AttributionResult, expected: AttributionResult, label: string): void {
  const lpTol = 1e-4 + RTOL * Math.abs(expected.logProb);
  assert.ok(Math.abs(actual.logProb - expected.logProb) <= lpTol, `${label} logProb: got ${actual.logProb}, reference ${expected.logProb}`);
  assertClose(actual.tokens.map((t) => t.l1), expected.tokens.map((t) => t.l1), `${label} tokens.l1`);
  assertClose(actual.tokens.map((t) => t.gradInput), expected.tokens.map((t) => t.gradInput), `${label} tokens.gradInput`);
  assert.deepEqual(Object.keys(actual.connections).sort(), Object.keys(expected.connections).sort(), `${label} span ids`);
  const ids = Object.keys(expected.connections).sort();
  for (const key of ['meanL1', 'maxL1', 'meanGradInput', 'maxGradInput'] as const) {
    const scale = key.endsWith('L1') ? expected.tokens.map((t) => t.l1) : expected.tokens.map((t) => t.gradInput);
    const atol = RTOL * Math.max(...scale.map(Math.abs));
    for (const id of ids) {
      const a = actual.connections[id]![key];
      const e = expected.connections[id]![key];
      assert.ok(Math.abs(a - e) <= atol + RTOL * Math.abs(e), `${label} connections.${id}.${key}: got ${a}, reference ${e}`);
    }
  }
}

test('golden fixtures cover every architecture, tied and untied heads, with and without prefix', () => {
  const fixtures = fixtureFiles.map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as GoldenFixture);
  const archs = new Set(fixtures.map((f) => f.model.arch));
  for (const arch of ['llama', 'qwen2', 'qwen3', 'mistral']) assert.ok(archs.has(arch as RandomModelSpec['arch']), `no fixture for ${arch}`);
  const llama = fixtures.filter((f) => f.model.arch === 'llama');
  assert.ok(llama.some((f) => f.model.tie) && llama.some((f) => !f.model.tie), 'llama tied and untied');
  for (const f of fixtures) {
    assert.ok(f.cases.some((c) => c.request.prefixLength === 0) && f.cases.some((c) => c.request.prefixLength > 0));
  }
});

for (const file of fixtureFiles) {
  const fixture = JSON.parse(readFileSync(join(FIXTURE_DIR, file), 'utf8')) as GoldenFixture;
  describe(`attribution matches the PyTorch reference: ${file}`, () => {
    let tmp = '';
    let model: LoadedModel | undefined;
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'agentchord-golden-'));
      writeRandomModel(join(tmp, 'model'), fixture.model);
      for (const [written, sha] of Object.entries(fixture.modelSha256)) {
        const now = createHash('sha256').update(readFileSync(join(tmp, 'model', written))).digest('hex');
        assert.equal(now, sha, `writeRandomModel no longer writes the model this fixture was made from (${written} differs): ` +
          'if that change is intended, regenerate the fixtures with `/usr/bin/python3 bench/reference/make_fixtures.py`');
      }
      const loaded = await loadModel(join(tmp, 'model'), { device: 'cpu', cacheDir: join(tmp, 'cache'), threads: 2 });
      model = loaded;
      assert.equal(loaded.info.dtype, 'float32');
      assert.equal(loaded.info.device, 'cpu');
    });
    after(async () => {
      await model?.dispose();
      rmSync(tmp, { recursive: true, force: true });
    });
    for (const c of fixture.cases) {
      test(c.name, async () => {
        const result = await model!.attribute(c.request);
        assertMatchesReference(result, c.expected, `${file}/${c.name}`);
      });
    }
  });
}
