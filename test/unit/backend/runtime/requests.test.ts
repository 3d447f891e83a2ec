// Attribution request validation, span reduction, target rows, and the ModelErrors of the graph builder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelConfig } from '../../../../src/backend/model/config';
import type { TensorInfo } from '../../../../src/backend/model/safetensors';
import { buildForwardGraph, buildGradientGraph } from '../../../../src/backend/model/transformer';
import { spanConnections, targetRows, validateAttributionRequest } from '../../../../src/backend/runtime/attribute';
import { attentionMask } from '../../../../src/backend/runtime/feeds';
import { ModelError } from '../../../../src/backend/errors';
import type { AttributionRequest } from '../../../../src/protocol/attribution';

const ok: AttributionRequest = { inputIds: [1, 5, 6, 7, 8], prefixLength: 2, targetStart: 3, spans: [{ id: 's', start: 2, end: 4 }] };

describe('validateAttributionRequest', () => {
  const bad: Array<[string, Partial<AttributionRequest>, RegExp]> = [
    ['empty ids', { inputIds: [] }, /inputIds/],
    ['id outside the vocabulary', { inputIds: [1, 5, 600, 7, 8] }, /inputIds\[2\]: 600 is outside the vocabulary/],
    ['fractional id', { inputIds: [1, 5.5, 6, 7, 8] }, /inputIds\[1\]/],
    ['negative prefix', { prefixLength: -1 }, /prefixLength/],
    ['prefix covering everything', { prefixLength: 5 }, /prefixLength: 5 leaves no tail/],
    ['targetStart inside the prefix', { targetStart: 1 }, /targetStart: 1 must be greater than prefixLength 2/],
    ['targetStart equal to the prefix length', { targetStart: 2 }, /targetStart: 2 must be greater than prefixLength 2/],
    ['targetStart 0 without prefix', { prefixLength: 0, targetStart: 0, spans: [] }, /targetStart: 0/],
    ['targetStart past the end', { targetStart: 5 }, /targetStart: 5 leaves no target/],
    ['span starting in the prefix', { spans: [{ id: 's', start: 1, end: 3 }] }, /spans\[0\]\.start/],
    ['empty span', { spans: [{ id: 's', start: 3, end: 3 }] }, /spans\[0\]\.end/],
    ['span past the end', { spans: [{ id: 's', start: 3, end: 9 }] }, /spans\[0\]\.end/],
    ['duplicate span id', { spans: [{ id: 's', start: 2, end: 3 }, { id: 's', start: 3, end: 4 }] }, /spans\[1\]\.id/],
  ];
  for (const [name, patch, message] of bad)
    test(`rejects ${name}, naming the field`, () => {
      assert.throws(() => validateAttributionRequest({ ...ok, ...patch }, 512, 100), (e: Error) => e instanceof RangeError && message.test(e.message));
    });
  test('accepts a valid request, and rejects one longer than the context', () => {
    validateAttributionRequest(ok, 512, 100);
    assert.throws(() => validateAttributionRequest(ok, 512, 4), /exceed the model's context length 4/);
  });
});

describe('target rows and span connections', () => {
  test('targets map to the tail rows that predict them', () => {
    assert.deepEqual(targetRows(ok), { rows: [0, 1], ids: [7, 8] });
    assert.deepEqual(targetRows({ ...ok, prefixLength: 0, targetStart: 1 }), { rows: [0, 1, 2, 3], ids: [5, 6, 7, 8] });
  });
  test('mean and max per span over the tail tokens', () => {
    const tokens = [
      { l1: 1, gradInput: -1 },
      { l1: 3, gradInput: 2 },
      { l1: 5, gradInput: -4 },
    ];
    const c = spanConnections({ ...ok, spans: [{ id: 'a', start: 2, end: 4 }, { id: 'b', start: 4, end: 5 }] }, tokens);
    assert.deepEqual(c, { a: { meanL1: 2, maxL1: 3, meanGradInput: 0.5, maxGradInput: 2 }, b: { meanL1: 5, maxL1: 5, meanGradInput: -4, maxGradInput: -4 } });
  });
});

describe('graph builder ModelErrors', () => {
  const config = parseModelConfig({
    model_type: 'llama', hidden_size: 8, intermediate_size: 12, num_attention_heads: 2, num_key_value_heads: 1, num_hidden_layers: 1,
    vocab_size: 10, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 32, tie_word_embeddings: true,
  });
  const info = (name: string, shape: number[]): [string, TensorInfo] => [name, { name, dtype: 'F32', shape, file: 'model.safetensors', offset: 0, length: 4 * shape.reduce((a, b) => a * b, 1) }];
  const tensors = () =>
    new Map([
      info('model.embed_tokens.weight', [10, 8]),
      info('model.layers.0.input_layernorm.weight', [8]),
      info('model.layers.0.self_attn.q_proj.weight', [8, 8]),
      info('model.layers.0.self_attn.k_proj.weight', [4, 8]),
      info('model.layers.0.self_attn.v_proj.weight', [4, 8]),
      info('model.layers.0.self_attn.o_proj.weight', [8, 8]),
      info('model.layers.0.post_attention_layernorm.weight', [8]),
      info('model.layers.0.mlp.gate_proj.weight', [12, 8]),
      info('model.layers.0.mlp.up_proj.weight', [12, 8]),
      info('model.layers.0.mlp.down_proj.weight', [8, 12]),
      info('model.norm.weight', [8]),
    ]);
  const isModelError = (pattern: RegExp) => (e: Error) => e instanceof ModelError && pattern.test(e.message);

  test('config.json: an activation other than silu is refused, not silently computed as silu', () => {
    const base = { model_type: 'llama', hidden_size: 8, intermediate_size: 12, num_attention_heads: 2, num_hidden_layers: 1, vocab_size: 10 };
    assert.throws(() => parseModelConfig({ ...base, hidden_act: 'gelu' }), isModelError(/field "hidden_act" is "gelu"; only "silu" is supported/));
    assert.equal(parseModelConfig({ ...base, hidden_act: 'silu' }).modelType, 'llama');
  });

  test('a complete tensor index builds both graphs', () => {
    assert.ok(buildForwardGraph({ config, tensors: tensors(), dtype: 'float32' }).nodes.length > 0);
    assert.ok(buildGradientGraph({ config, tensors: tensors(), dtype: 'float32' }).outputs.map((o) => o.name).includes('l1'));
  });
  test('a missing tensor is named', () => {
    const t = tensors();
    t.delete('model.layers.0.mlp.up_proj.weight');
    assert.throws(() => buildGradientGraph({ config, tensors: t, dtype: 'float32' }), isModelError(/"model\.layers\.0\.mlp\.up_proj\.weight" is missing/));
  });
  test('a shape mismatch names the tensor and both shapes', () => {
    const t = tensors();
    t.set(...info('model.layers.0.self_attn.k_proj.weight', [8, 8]));
    assert.throws(() => buildForwardGraph({ config, tensors: t, dtype: 'float32' }), isModelError(/k_proj\.weight" in model\.safetensors has shape \[8,8\].*\[4,8\]/));
  });
  test('an untied model without lm_head.weight is named', () => {
    assert.throws(() => buildForwardGraph({ config: { ...config, tieWordEmbeddings: false }, tensors: tensors(), dtype: 'float32' }), isModelError(/lm_head\.weight/));
  });
  test('an unsupported model_type is named', () => {
    const gpt2 = { ...config, modelType: 'gpt2' } as unknown as typeof config;
    assert.throws(() => buildForwardGraph({ config: gpt2, tensors: tensors(), dtype: 'float32' }), isModelError(/model_type "gpt2"/));
  });
  test('an integer tensor where a weight belongs is named', () => {
    const t = tensors();
    t.set('model.norm.weight', { ...t.get('model.norm.weight')!, dtype: 'I32' });
    assert.throws(() => buildForwardGraph({ config, tensors: t, dtype: 'float32' }), isModelError(/"model\.norm\.weight".*dtype I32/));
  });
});

describe('attention mask', () => {
  const config = parseModelConfig({
    model_type: 'mistral', hidden_size: 8, intermediate_size: 12, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1,
    vocab_size: 10, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 32,
  });
  const pattern = (t: { data: unknown; dims: readonly number[] }) => {
    const data = Array.from(t.data as Float64Array);
    const width = t.dims[1];
    return Array.from({ length: t.dims[0] }, (_, r) => data.slice(r * width, (r + 1) * width).map((v) => (v === 0 ? 1 : 0)).join(''));
  };
  test('causal after a cache, repeated for the query heads sharing a KV head', () => {
    const mask = attentionMask(config, 2, 3, 'float64');
    assert.deepEqual(mask.dims, [6, 5]);
    assert.deepEqual(pattern(mask), ['11100', '11110', '11111', '11100', '11110', '11111']);
    assert.ok((mask.data as Float64Array).every((v) => v === 0 || v <= -1e9));
  });
  test('a sliding window hides keys more than window-1 positions back', () => {
    assert.deepEqual(pattern(attentionMask({ ...config, slidingWindow: 2 }, 1, 3, 'float64')).slice(0, 3), ['1100', '0110', '0011']);
  });
});
