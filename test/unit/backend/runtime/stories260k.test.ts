// The real tiny Llama (stories260k, GQA, tied embeddings) against its reference fixture: greedy generation,
// teacher-forced NLL and input-embedding saliency, with the production float32 graphs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type TokenSaliencyWithL2 } from '../../../../src/backend/runtime/loadModel';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import { sharedPath } from '../../repo';

const MODEL = sharedPath('models/stories260k');

interface FixtureCase {
  ids: number[];
  next_token_argmax: number;
  next_token_logprob: number;
  per_token_nll_teacher_forced: number[];
  saliency_grad_l2_of_logprob_target_wrt_input_embedding: number[];
  saliency_grad_times_input: number[];
}
const fixture = JSON.parse(readFileSync(join(MODEL, 'reference_fixture.json'), 'utf8')) as {
  cases: FixtureCase[];
  greedy_from_bos: { ids: number[] };
};

/** |actual - expected| <= 1e-3 |expected| (the fixture is float64; the graphs run in float32). */
function assertClose(actual: number, expected: number, what: string, rtol = 1e-3) {
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected), `${what}: ${actual} vs reference ${expected}`);
}

describe('stories260k against reference_fixture.json (float32)', () => {
  let model: LoadedModel;
  let cacheDir: string;
  before(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-graphs-'));
    model = await loadModel(MODEL, { device: 'cpu', cacheDir, saliencyL2: true });
  });
  after(async () => {
    await model?.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test('greedy decoding from BOS reproduces greedy_from_bos', async () => {
    const expected = fixture.greedy_from_bos.ids;
    const streamed: number[] = [];
    const result = await model.generate([expected[0]], { maxTokens: expected.length - 1, temperature: 0, topP: 1, stop: [] }, (id) => streamed.push(id));
    assert.deepEqual([expected[0], ...result.ids], expected);
    assert.deepEqual(streamed, result.ids);
    assert.equal(result.finishReason, 'length');
    assert.ok(result.text.startsWith('Once upon a time'), result.text);
  });

  for (const [k, c] of fixture.cases.entries()) {
    test(`case ${k}: teacher-forced per-token NLL (one target at a time, prefix-cached)`, async () => {
      for (let t = 1; t < c.ids.length; t++) {
        // prefix = everything before the target's predicting position: exercises the KV-cache path too.
        const r = await model.attribute({ inputIds: c.ids.slice(0, t + 1), prefixLength: t - 1, targetStart: t, spans: [] });
        assertClose(-r.logProb, c.per_token_nll_teacher_forced[t - 1], `NLL of token ${t}`);
      }
    });

    test(`case ${k}: saliency of log p(next token) w.r.t. each input embedding (L2 and gradient·input)`, async () => {
      const ids = [...c.ids, c.next_token_argmax];
      const r = await model.attribute({ inputIds: ids, prefixLength: 0, targetStart: c.ids.length, spans: [{ id: 'all', start: 0, end: c.ids.length }] });
      assertClose(r.logProb, c.next_token_logprob, 'log p(next token)');
      const tokens = r.tokens as TokenSaliencyWithL2[];
      assert.equal(tokens.length, ids.length);
      c.ids.forEach((_, i) => {
        assertClose(tokens[i].l2!, c.saliency_grad_l2_of_logprob_target_wrt_input_embedding[i], `L2 saliency of token ${i}`);
        assertClose(tokens[i].gradInput, c.saliency_grad_times_input[i], `gradient·input of token ${i}`);
      });
      // the target's own embedding cannot influence its probability
      assert.equal(tokens[ids.length - 1].l1, 0);
      const all = r.connections.all;
      assertClose(all.maxGradInput, Math.max(...c.saliency_grad_times_input), 'maxGradInput');
      assert.ok(all.meanL1 > 0 && all.maxL1 >= all.meanL1);
    });
  }
});

describe('stories260k with float16 graphs (the GPU precision), run on the CPU', () => {
  test('agree with float32 to half precision, and decode the same greedy tokens', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-graphs-'));
    const [m16, m32] = [await loadModel(MODEL, { device: 'cpu', cacheDir, dtype: 'float16' }), await loadModel(MODEL, { device: 'cpu', cacheDir })];
    try {
      const c = fixture.cases[1];
      const request = { inputIds: c.ids, prefixLength: 4, targetStart: 6, spans: [{ id: 's', start: 4, end: 12 }] };
      const [r16, r32] = [await m16.attribute(request), await m32.attribute(request)];
      assertClose(r16.logProb, r32.logProb, 'float16 logProb', 1e-2);
      r32.tokens.slice(0, -1).forEach((t, i) => assertClose(r16.tokens[i].l1, t.l1, `float16 l1[${i}]`, 3e-2));
      assertClose(r16.connections.s.meanL1, r32.connections.s.meanL1, 'float16 meanL1', 2e-2);
      const greedy = { maxTokens: 12, temperature: 0, topP: 1, stop: [] };
      assert.deepEqual((await m16.generate([1], greedy)).ids, fixture.greedy_from_bos.ids.slice(1, 13));
    } finally {
      await m16.dispose();
      await m32.dispose();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
