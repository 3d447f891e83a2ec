// The forward graph computes the last layer's queries, attention and MLP for the last row only (its logits are all
// that prefill, decoding and the attribution prefix use): its logits and KV cache must equal those of the graph that
// computes every row (allLogits), with and without a cache before the ids, for every architecture.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { serialize } from '../../../../src/backend/onnx';
import { readModelConfig } from '../../../../src/backend/model/config';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';
import { readTensorIndex } from '../../../../src/backend/model/safetensors';
import { buildForwardGraph } from '../../../../src/backend/model/transformer';
import { emptyKvCache, presentKvCache, stepFeeds, tensorNumbers } from '../../../../src/backend/runtime/feeds';

const base = { hiddenSize: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 24, vocabSize: 300, seed: 11 };
const MODELS: Array<{ name: string; spec: RandomModelSpec }> = [
  { name: 'llama', spec: { ...base, arch: 'llama', tie: true } },
  { name: 'qwen2', spec: { ...base, arch: 'qwen2' } },
  { name: 'qwen3', spec: { ...base, arch: 'qwen3', headDim: 6 } },
  { name: 'mistral', spec: { ...base, arch: 'mistral', numKvHeads: 1 } },
];
const PREFIX = [5, 17, 250, 3];
const IDS = [40, 41, 57, 200, 13];

const root = mkdtempSync(join(tmpdir(), 'agentchord-lastrow-'));
after(() => rmSync(root, { recursive: true, force: true }));

function assertAllClose(actual: Float64Array, expected: Float64Array, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-12 + 1e-10 * Math.abs(expected[i]), `${what}[${i}]: ${v} vs ${expected[i]}`));
}

describe('forward graph: last-row-only last layer', () => {
  for (const { name, spec } of MODELS) {
    test(`${name}: logits and KV cache equal the all-rows graph's`, async () => {
      const dir = join(root, name);
      writeRandomModel(dir, spec);
      const config = readModelConfig(dir);
      const modelSpec = { config, tensors: readTensorIndex(dir), dtype: 'float64' as const };
      const options = { graphOptimizationLevel: 'basic' as const, extra: { session: { model_external_initializers_file_folder_path: dir } } };
      const lastRow = await ort.InferenceSession.create(serialize(buildForwardGraph(modelSpec)), options);
      const allRows = await ort.InferenceSession.create(serialize(buildForwardGraph(modelSpec, { allLogits: true })), options);
      try {
        const prefix = await allRows.run(stepFeeds(config, 'float64', PREFIX, emptyKvCache(config, 'float64')));
        for (const [label, cache] of [['no cache', emptyKvCache(config, 'float64')], ['after a cache', presentKvCache(config, prefix)]] as const) {
          const got = await lastRow.run(stepFeeds(config, 'float64', IDS, cache));
          const want = await allRows.run(stepFeeds(config, 'float64', IDS, cache));
          assert.deepEqual(got.logits.dims, [1, config.vocabSize]);
          assertAllClose(tensorNumbers(got.logits), tensorNumbers(want.logits).slice((IDS.length - 1) * config.vocabSize), `${label}: logits`);
          for (let l = 0; l < config.numLayers; l++) {
            for (const kind of ['key', 'value']) {
              const out = `present_${kind}_${l}`;
              assert.deepEqual(got[out].dims, want[out].dims, `${label}: ${out} dims`);
              assertAllClose(tensorNumbers(got[out]), tensorNumbers(want[out]), `${label}: ${out}`);
            }
          }
        }
      } finally {
        await lastRow.release();
        await allRows.release();
      }
    });
  }
});
