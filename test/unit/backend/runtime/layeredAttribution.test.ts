// Layered attribution (src/backend/runtime/layeredAttribution.ts) against the whole-model gradient graph, in float64
// on tiny random models of every architecture, with chunk sizes small enough that every run boundary is crossed:
// prefix and tail cut into several forward chunks, targets split over several LM-head runs. (attribution.test.ts
// checks the default path against finite differences; this one checks that the cutting changes nothing.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';
import { loadModel, NonFiniteResultError } from '../../../../src/backend/runtime/loadModel';
import { AttributionMemoryError, chunkRanges, LayeredAttribution } from '../../../../src/backend/runtime/layeredAttribution';
import { readModelConfig } from '../../../../src/backend/model/config';
import { readTensorIndex } from '../../../../src/backend/model/safetensors';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import type { AttributionRequest } from '../../../../src/protocol/attribution';

const base = { hiddenSize: 16, numLayers: 3, numHeads: 4, numKvHeads: 2, intermediateSize: 24, vocabSize: 300, seed: 11 };
const MODELS: Array<{ name: string; spec: RandomModelSpec }> = [
  { name: 'llama (untied)', spec: { ...base, arch: 'llama', tie: false } },
  { name: 'qwen2 (q/k/v bias)', spec: { ...base, arch: 'qwen2', tie: true } },
  { name: 'qwen3 (q/k norm, head_dim 6)', spec: { ...base, arch: 'qwen3', headDim: 6, tie: true } },
  { name: 'mistral (one KV head)', spec: { ...base, arch: 'mistral', numKvHeads: 1 } },
];

const ids = Array.from({ length: 23 }, (_, i) => (i * 37 + 5) % 300);
const REQUESTS: Array<[string, AttributionRequest]> = [
  ['prefix 10 of 23, 9 targets', { inputIds: ids, prefixLength: 10, targetStart: 14, spans: [{ id: 'a', start: 10, end: 13 }, { id: 'b', start: 13, end: 20 }] }],
  ['no prefix', { inputIds: ids, prefixLength: 0, targetStart: 5, spans: [{ id: 'a', start: 0, end: 23 }] }],
];

const close = (a: number, b: number, rtol = 1e-9, atol = 1e-13) => Math.abs(a - b) <= atol + rtol * Math.abs(b);

const root = mkdtempSync(join(tmpdir(), 'agentchord-layered-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('chunkRanges cuts prefix and tail apart, so that one range ends at the prefix', () => {
  assert.deepEqual(chunkRanges(5, 12, 3), [[0, 3], [3, 5], [5, 8], [8, 11], [11, 12]]);
  assert.deepEqual(chunkRanges(0, 4, 3), [[0, 3], [3, 4]]);
});

for (const { name, spec } of MODELS) {
  describe(`${name}: layered attribution in chunks equals the whole-model gradient graph`, () => {
    const dir = join(root, name.replace(/\W+/g, '_'));
    let layered: LoadedModel;
    let whole: LoadedModel;
    before(async () => {
      writeRandomModel(dir, spec);
      const common = { device: 'cpu' as const, cacheDir: join(root, 'cache'), dtype: 'float64' as const, threads: 1 };
      layered = await loadModel(dir, { ...common, layeredTuning: { forwardChunkRows: 3, headChunkRows: 2 } });
      whole = await loadModel(dir, { ...common, attribution: 'whole' });
    });
    after(async () => {
      await layered?.dispose();
      await whole?.dispose();
    });
    for (const [label, request] of REQUESTS) {
      test(label, async () => {
        const [got, want] = [await layered.attribute(request), await whole.attribute(request)];
        assert.ok(close(got.logProb, want.logProb), `logProb ${got.logProb} vs ${want.logProb}`);
        assert.equal(got.tokens.length, want.tokens.length);
        got.tokens.forEach((t, i) => {
          assert.ok(close(t.l1, want.tokens[i].l1), `l1[${i}] ${t.l1} vs ${want.tokens[i].l1}`);
          assert.ok(close(t.gradInput, want.tokens[i].gradInput), `gradInput[${i}] ${t.gradInput} vs ${want.tokens[i].gradInput}`);
        });
        assert.ok(got.tokens.some((t) => t.l1 > 1e-6));
      });
    }
  });
}

test('a request that cannot fit in memory fails before allocating, naming its size and what it needs', async () => {
  const dir = join(root, 'memory');
  writeRandomModel(dir, { ...base, arch: 'qwen3', tie: true, vocabSize: 300 });
  const config = readModelConfig(dir);
  const layered = await LayeredAttribution.create(dir, { ...config, maxPositions: 1 << 22 }, readTensorIndex(dir), 'float32', {});
  try {
    const n = 3_000_000; // a long call with no prefix: the attention working set alone is hundreds of GiB
    const request: AttributionRequest = { inputIds: new Array<number>(n).fill(1), prefixLength: 0, targetStart: n - 1, spans: [] };
    assert.ok(layered.memoryNeeded(request) > 2 ** 40);
    await assert.rejects(layered.attribute(request), (err: unknown) => {
      assert.ok(err instanceof AttributionMemoryError);
      assert.match(err.message, /3000000-token call \(prefix 0\) needs about [\d.]+ GiB of memory .* only [\d.]+ GiB is available/);
      return true;
    });
    // A small request of the same model passes the check and runs.
    const small: AttributionRequest = { inputIds: ids, prefixLength: 4, targetStart: 10, spans: [] };
    assert.ok(layered.memoryNeeded(small) < 2 ** 20);
    assert.ok(Number.isFinite((await layered.attribute(small)).logProb));
  } finally {
    await layered.release();
  }
});

test('NaN in the result is an error naming the request, not a null in the JSON', async () => {
  const dir = join(root, 'nan');
  writeRandomModel(dir, { ...base, arch: 'llama', tie: true });
  const tensors = readTensorIndex(dir);
  const norm = tensors.get('model.norm.weight')!;
  const bytes = readFileSync(join(dir, norm.file));
  for (let i = 0; i < norm.length; i += 4) bytes.writeFloatLE(Number.NaN, norm.offset + i); // a damaged checkpoint
  writeFileSync(join(dir, norm.file), bytes);
  const model = await loadModel(dir, { device: 'cpu', cacheDir: join(root, 'cache'), threads: 1 });
  try {
    await assert.rejects(model.attribute(REQUESTS[0][1]), (err: unknown) => err instanceof NonFiniteResultError && /non-finite result \(logProb is NaN\) for a 23-token request/.test(err.message));
  } finally {
    await model.dispose();
  }
});

test('config.json with fewer layers than the weights hold loads with a warning naming both counts', async () => {
  const dir = join(root, 'layers');
  writeRandomModel(dir, { ...base, arch: 'llama', tie: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 2 }));
  const log: string[] = [];
  const model = await loadModel(dir, { device: 'cpu', cacheDir: join(root, 'cache'), threads: 1, log: (m) => log.push(m) });
  await model.dispose();
  assert.ok(log.some((m) => /the weights hold 3 layers but config.json's num_hidden_layers is 2/.test(m)), log.join('\n'));
});

test('concurrent requests on one model give the same numbers as one at a time (they share buffers)', async () => {
  const dir = join(root, 'concurrent');
  writeRandomModel(dir, { ...base, arch: 'qwen2', tie: true });
  const model = await loadModel(dir, { device: 'cpu', cacheDir: join(root, 'cache'), threads: 1, layeredTuning: { forwardChunkRows: 3, headChunkRows: 2 } });
  try {
    const [a, b] = [REQUESTS[0][1], REQUESTS[1][1]];
    const alone = [await model.attribute(a), await model.attribute(b)];
    const together = await Promise.all([model.attribute(a), model.attribute(b), model.attribute(a)]);
    assert.deepEqual(together, [alone[0], alone[1], alone[0]]);
  } finally {
    await model.dispose();
  }
});

test('a call with the previous call\'s prefix reuses its keys and values, and gets the same numbers', async () => {
  const dir = join(root, 'prefix-cache');
  writeRandomModel(dir, { ...base, arch: 'qwen3', headDim: 6, tie: true });
  const options = { device: 'cpu' as const, cacheDir: join(root, 'cache'), dtype: 'float64' as const, threads: 1, layeredTuning: { forwardChunkRows: 3, headChunkRows: 2 } };
  const shared = ids.slice(0, 10);
  const a: AttributionRequest = { inputIds: [...shared, ...ids.slice(10)], prefixLength: 10, targetStart: 15, spans: [{ id: 'x', start: 10, end: 14 }] };
  const b: AttributionRequest = { inputIds: [...shared, 7, 8, 9, 10, 11, 12, 13, 14], prefixLength: 10, targetStart: 13, spans: [{ id: 'x', start: 10, end: 12 }] };
  const other: AttributionRequest = { ...b, inputIds: [5, ...b.inputIds.slice(1)] }; // another prefix: no reuse
  const alone = async (request: AttributionRequest) => {
    const m = await loadModel(dir, options);
    try {
      return await m.attribute(request);
    } finally {
      await m.dispose();
    }
  };
  const model = await loadModel(dir, options);
  try {
    await model.attribute(a);
    const reused = await model.attribute(b); // same prefix as a
    const notReused = await model.attribute(other);
    for (const [got, want] of [[reused, await alone(b)], [notReused, await alone(other)]] as const) {
      assert.ok(close(got.logProb, want.logProb), `logProb ${got.logProb} vs ${want.logProb}`);
      got.tokens.forEach((t, i) => assert.ok(close(t.l1, want.tokens[i].l1) && close(t.gradInput, want.tokens[i].gradInput), `token ${i}`));
    }
  } finally {
    await model.dispose();
  }
});
