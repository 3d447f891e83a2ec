import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelConfig } from '../../../../src/backend/model/config';
import { ModelError } from '../../../../src/backend/errors';
import { sharedPath } from '../../repo';

function folderWith(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-config-'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

const base = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };

describe('readModelConfig', () => {
  test('reads the stories260k llama config', () => {
    const c = readModelConfig(sharedPath('models', 'stories260k'));
    assert.deepEqual(c, {
      modelType: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      ropeScaling: undefined,
      tieWordEmbeddings: true,
      attentionBias: false,
      qkNorm: false,
      maxPositions: 512,
      bosTokenId: 1,
      eosTokenIds: [2],
      torchDtype: 'float32',
      slidingWindow: undefined,
    });
  });

  test('applies architecture defaults: qwen2 bias, qwen3 qk-norm and head_dim, kv heads default', () => {
    const q2 = readModelConfig(folderWith({ ...base, model_type: 'qwen2', sliding_window: 4096, use_sliding_window: false, eos_token_id: [5, 6] }));
    assert.equal(q2.attentionBias, true);
    assert.equal(q2.qkNorm, false);
    assert.equal(q2.numKvHeads, 4);
    assert.equal(q2.headDim, 16);
    assert.equal(q2.slidingWindow, undefined, 'qwen2 only uses the window when use_sliding_window is true');
    assert.deepEqual(q2.eosTokenIds, [5, 6]);
    assert.equal(q2.ropeTheta, 10000);
    assert.equal(q2.maxPositions, 32768);
    assert.equal(q2.tieWordEmbeddings, false);

    const q3 = readModelConfig(folderWith({ ...base, model_type: 'qwen3', head_dim: 32, num_key_value_heads: 2, attention_bias: false, rope_theta: 1e6, dtype: 'bfloat16' }));
    assert.equal(q3.qkNorm, true);
    assert.equal(q3.headDim, 32);
    assert.equal(q3.numKvHeads, 2);
    assert.equal(q3.attentionBias, false);
    assert.equal(q3.ropeTheta, 1e6);
    assert.equal(q3.torchDtype, 'bfloat16');

    const m = readModelConfig(folderWith({ ...base, model_type: 'mistral', sliding_window: 4096, head_dim: null }));
    assert.equal(m.slidingWindow, 4096);
    assert.equal(m.headDim, 16);
    assert.equal(m.attentionBias, false);
    const llamaBias = readModelConfig(folderWith({ ...base, model_type: 'llama', attention_bias: true }));
    assert.equal(llamaBias.attentionBias, true);
  });

  test('normalises rope_scaling from `rope_type` and the older `type` spelling', () => {
    const l3 = readModelConfig(
      folderWith({
        ...base,
        model_type: 'llama',
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      }),
    );
    assert.deepEqual(l3.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    const lin = readModelConfig(folderWith({ ...base, model_type: 'llama', rope_scaling: { type: 'linear', factor: 2 } }));
    assert.deepEqual(lin.ropeScaling, { type: 'linear', factor: 2 });
    const yarn = readModelConfig(folderWith({ ...base, model_type: 'qwen3', rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }));
    assert.deepEqual(yarn.ropeScaling, { type: 'yarn', factor: 4, originalMaxPositions: 32768 });
    const dflt = readModelConfig(folderWith({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'default' } }));
    assert.equal(dflt.ropeScaling, undefined);
    // transformers v5 spelling
    const v5 = readModelConfig(folderWith({ ...base, model_type: 'llama', rope_parameters: { rope_type: 'linear', rope_theta: 500000, factor: 4 } }));
    assert.equal(v5.ropeTheta, 500000);
    assert.deepEqual(v5.ropeScaling, { type: 'linear', factor: 4 });
  });

  test('errors name the file and the field', () => {
    const missingDir = mkdtempSync(join(tmpdir(), 'agentchord-config-'));
    assert.throws(() => readModelConfig(missingDir), (e: Error) => e instanceof ModelError && e.message.includes(join(missingDir, 'config.json')));
    const bad = folderWith({ ...base, model_type: 'gpt2' });
    assert.throws(() => readModelConfig(bad), (e: Error) => e instanceof ModelError && /unsupported model_type "gpt2" \(supported: llama, qwen2, qwen3, mistral\)/.test(e.message) && e.message.includes(bad));
    const noHidden = folderWith({ ...base, model_type: 'llama', hidden_size: undefined });
    assert.throws(() => readModelConfig(noHidden), (e: Error) => e instanceof ModelError && e.message.includes('"hidden_size" is missing') && e.message.includes(noHidden));
    assert.throws(() => readModelConfig(folderWith({ ...base, model_type: 'llama', num_hidden_layers: 'two' })), /"num_hidden_layers" must be a positive integer/);
    assert.throws(() => readModelConfig(folderWith({ ...base, model_type: 'llama', num_key_value_heads: 3 })), /"num_key_value_heads" \(3\) must divide/);
    assert.throws(() => readModelConfig(folderWith('{ not json')), /invalid JSON/);
    assert.throws(() => readModelConfig(folderWith({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'longrope', factor: 2 } })), /unsupported rope type "longrope"/);
    assert.throws(() => readModelConfig(folderWith({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } })), /rope_scaling.*low_freq_factor is required/);
  });
});
