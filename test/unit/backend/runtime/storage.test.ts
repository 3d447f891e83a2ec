// Weights stored as F16 / BF16 (cast in the graph) and sharded checkpoints (external data in several files).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelConfig } from '../../../../src/backend/model/config';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';
import { loadModel, type LoadModelExtras } from '../../../../src/backend/runtime/loadModel';
import type { AttributionRequest } from '../../../../src/protocol/attribution';
import { referenceLogits } from './referenceTransformer';

const spec: RandomModelSpec = { arch: 'qwen2', hiddenSize: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 24, vocabSize: 300, seed: 11 };
const request: AttributionRequest = { inputIds: [5, 17, 29, 101, 7, 250], prefixLength: 2, targetStart: 3, spans: [{ id: 'a', start: 2, end: 4 }] };
const root = mkdtempSync(join(tmpdir(), 'agentchord-storage-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function attribute(dir: string, extras: LoadModelExtras = {}) {
  const model = await loadModel(dir, { device: 'cpu', cacheDir: join(root, 'cache'), threads: 1, ...extras });
  try {
    return await model.attribute(request);
  } finally {
    await model.dispose();
  }
}

/** log p(targets) from the independent float64 reference, reading the weights as stored. */
function referenceLogProb(dir: string): number {
  const config = readModelConfig(dir);
  const logits = referenceLogits(dir, config, request.inputIds);
  let s = 0;
  for (let t = request.targetStart; t < request.inputIds.length; t++) {
    const row = logits[t - 1];
    const max = Math.max(...row);
    s += row[request.inputIds[t]] - max - Math.log(row.reduce((z, l) => z + Math.exp(l - max), 0));
  }
  return s;
}

describe('weight storage', () => {
  for (const dtype of ['F16', 'BF16'] as const)
    test(`${dtype} weights are cast in the graph: float64 matches the reference, float32 is close`, async () => {
      const dir = join(root, dtype);
      writeRandomModel(dir, { ...spec, dtype });
      const want = referenceLogProb(dir);
      const r64 = await attribute(dir, { dtype: 'float64' });
      assert.ok(Math.abs(r64.logProb - want) < 1e-9 * Math.abs(want), `${r64.logProb} vs ${want}`);
      const r32 = await attribute(dir);
      assert.ok(Math.abs(r32.logProb - want) < 1e-4 * Math.abs(want), `${r32.logProb} vs ${want}`);
      assert.ok(r32.tokens.slice(0, -1).every((t) => Number.isFinite(t.l1) && t.l1 > 0)); // the last token only is a target
    });

  test('a sharded checkpoint gives the same result as a single file', async () => {
    writeRandomModel(join(root, 'single'), spec);
    writeRandomModel(join(root, 'sharded'), { ...spec, shards: 3 });
    assert.equal(readdirSync(join(root, 'sharded')).filter((f) => f.endsWith('.safetensors')).length, 3);
    assert.deepEqual(await attribute(join(root, 'sharded')), await attribute(join(root, 'single')));
  });
});
