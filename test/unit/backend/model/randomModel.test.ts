import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelConfig } from '../../../../src/backend/model/config';
import { readTensor, readTensorIndex } from '../../../../src/backend/model/safetensors';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';

const tempDir = () => mkdtempSync(join(tmpdir(), 'agentchord-random-'));
const small = { hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 48, vocabSize: 300, seed: 7 };

function expectedNames(spec: RandomModelSpec): Map<string, number[]> {
  const h = spec.hiddenSize;
  const d = spec.headDim ?? h / spec.numHeads;
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [spec.vocabSize, h]], ['model.norm.weight', [h]]]);
  if (!spec.tie) m.set('lm_head.weight', [spec.vocabSize, h]);
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [h]);
    m.set(`${p}.post_attention_layernorm.weight`, [h]);
    m.set(`${p}.self_attn.q_proj.weight`, [spec.numHeads * d, h]);
    m.set(`${p}.self_attn.k_proj.weight`, [spec.numKvHeads * d, h]);
    m.set(`${p}.self_attn.v_proj.weight`, [spec.numKvHeads * d, h]);
    m.set(`${p}.self_attn.o_proj.weight`, [h, spec.numHeads * d]);
    if (spec.arch === 'qwen2') {
      m.set(`${p}.self_attn.q_proj.bias`, [spec.numHeads * d]);
      m.set(`${p}.self_attn.k_proj.bias`, [spec.numKvHeads * d]);
      m.set(`${p}.self_attn.v_proj.bias`, [spec.numKvHeads * d]);
    }
    if (spec.arch === 'qwen3') {
      m.set(`${p}.self_attn.q_norm.weight`, [d]);
      m.set(`${p}.self_attn.k_norm.weight`, [d]);
    }
    m.set(`${p}.mlp.gate_proj.weight`, [spec.intermediateSize, h]);
    m.set(`${p}.mlp.up_proj.weight`, [spec.intermediateSize, h]);
    m.set(`${p}.mlp.down_proj.weight`, [h, spec.intermediateSize]);
  }
  return m;
}

function std(values: Float32Array, mean = 0): number {
  let s = 0;
  for (const v of values) s += (v - mean) ** 2;
  return Math.sqrt(s / values.length);
}

describe('writeRandomModel', () => {
  const specs: RandomModelSpec[] = [
    { ...small, arch: 'llama', tie: true },
    { ...small, arch: 'qwen2' },
    { ...small, arch: 'qwen3', headDim: 16, dtype: 'BF16', shards: 3 },
    { ...small, arch: 'mistral', dtype: 'F16', shards: 2 },
  ];
  for (const spec of specs) {
    test(`${spec.arch}: config, tensor names and shapes as transformers would write them`, () => {
      const dir = tempDir();
      writeRandomModel(dir, spec);
      const config = readModelConfig(dir);
      assert.equal(config.modelType, spec.arch);
      assert.equal(config.hiddenSize, spec.hiddenSize);
      assert.equal(config.numKvHeads, spec.numKvHeads);
      assert.equal(config.headDim, spec.headDim ?? spec.hiddenSize / spec.numHeads);
      assert.equal(config.tieWordEmbeddings, spec.tie ?? false);
      assert.equal(config.attentionBias, spec.arch === 'qwen2');
      assert.equal(config.qkNorm, spec.arch === 'qwen3');
      const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      assert.equal(raw.architectures[0], { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM' }[spec.arch]);
      const index = readTensorIndex(dir);
      const expected = expectedNames(spec);
      assert.deepEqual([...index.keys()].sort(), [...expected.keys()].sort());
      for (const [name, shape] of expected) assert.deepEqual(index.get(name)!.shape, shape, name);
      for (const t of index.values()) assert.equal(t.dtype, spec.dtype ?? 'F32');
      if (spec.shards) {
        assert.ok(existsSync(join(dir, 'model.safetensors.index.json')));
        assert.equal(new Set([...index.values()].map((t) => t.file)).size, spec.shards);
        assert.equal(existsSync(join(dir, 'model.safetensors')), false);
      }
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) assert.ok(existsSync(join(dir, f)), f);
      assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')));
    });
  }

  test('weights are seeded, scaled like a real init, and norms are near 1', () => {
    const spec: RandomModelSpec = { ...small, arch: 'qwen2', hiddenSize: 64, intermediateSize: 256, numHeads: 4 };
    const a = tempDir();
    const b = tempDir();
    const c = tempDir();
    writeRandomModel(a, spec);
    writeRandomModel(b, spec);
    writeRandomModel(c, { ...spec, seed: 8 });
    assert.deepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(b, 'model.safetensors')));
    assert.notDeepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(c, 'model.safetensors')));
    const index = readTensorIndex(a);
    const up = readTensor(a, index.get('model.layers.0.mlp.up_proj.weight')!);
    assert.ok(Math.abs(std(up) - 0.02) < 0.002, `up_proj std ${std(up)}`);
    const norm = readTensor(a, index.get('model.layers.1.input_layernorm.weight')!);
    const mean = norm.reduce((s, v) => s + v, 0) / norm.length;
    assert.ok(Math.abs(mean - 1) < 0.05 && std(norm, mean) > 0.01, `norm mean ${mean}`);
    const q = readTensor(a, index.get('model.layers.0.self_attn.q_proj.weight')!);
    assert.ok(std(q) > 0.1, 'queries are scaled up so attention is not uniform');
  });

  test('writes the 20M-parameter benchmark qwen2 model in a few seconds', () => {
    const dir = tempDir();
    const started = Date.now();
    writeRandomModel(dir, { arch: 'qwen2', hiddenSize: 512, numLayers: 6, numHeads: 8, numKvHeads: 4, intermediateSize: 1408, vocabSize: 4096, seed: 1 });
    const seconds = (Date.now() - started) / 1000;
    let params = 0;
    for (const t of readTensorIndex(dir).values()) params += t.shape.reduce((x, y) => x * y, 1);
    assert.ok(params > 19e6 && params < 24e6, `params ${params}`);
    assert.ok(seconds < 10, `took ${seconds}s`);
  });

  test('bad specs are refused with the field named', () => {
    assert.throws(() => writeRandomModel(tempDir(), { ...small, arch: 'llama', numKvHeads: 3 }), /spec.numKvHeads \(3\) must divide/);
    assert.throws(() => writeRandomModel(tempDir(), { ...small, arch: 'llama', hiddenSize: 0 }), /spec.hiddenSize must be a positive integer/);
  });
});
