// The gradient graph on tiny random models of every architecture, in float64: log p and the per-token saliency
// (L1 and gradient·input of dS/de) against central finite differences of S through the forward graph, with and
// without a prefix KV cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { serialize } from '../../../../src/backend/onnx';
import { readModelConfig, type ModelConfig } from '../../../../src/backend/model/config';
import { writeRandomModel, type RandomModelSpec } from '../../../../src/backend/model/randomModel';
import { readTensorF64, readTensorIndex } from '../../../../src/backend/model/safetensors';
import { buildForwardGraph } from '../../../../src/backend/model/transformer';
import { emptyKvCache, floatTensor, presentKvCache, stepFeeds, tensorNumbers } from '../../../../src/backend/runtime/feeds';
import { loadModel } from '../../../../src/backend/runtime/loadModel';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import type { AttributionRequest } from '../../../../src/protocol/attribution';
import { referenceLogits } from './referenceTransformer';

const base = { hiddenSize: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 24, vocabSize: 300, seed: 7 };
const MODELS: Array<{ name: string; spec: RandomModelSpec }> = [
  { name: 'llama (tied embeddings)', spec: { ...base, arch: 'llama', tie: true } },
  { name: 'llama (untied)', spec: { ...base, arch: 'llama', tie: false, numKvHeads: 4 } },
  { name: 'qwen2 (q/k/v bias)', spec: { ...base, arch: 'qwen2', seed: 8 } },
  { name: 'qwen3 (q/k norm, head_dim 6 != 16/4)', spec: { ...base, arch: 'qwen3', headDim: 6, seed: 9 } },
  { name: 'mistral', spec: { ...base, arch: 'mistral', numKvHeads: 1, seed: 10 } },
];

const IDS = [1, 40, 41, 57, 200, 13, 99, 41];

/** S(e) = sum of log p(targets) for the tail given its embeddings, through the forward graph (all logits). */
class FiniteDifferences {
  private constructor(
    private readonly config: ModelConfig,
    private readonly session: ort.InferenceSession,
    readonly embedding: Float64Array,
  ) {}

  static async create(dir: string): Promise<FiniteDifferences> {
    const config = readModelConfig(dir);
    const tensors = readTensorIndex(dir);
    const graph = buildForwardGraph({ config, tensors, dtype: 'float64' }, { allLogits: true, inputEmbeds: true });
    const session = await ort.InferenceSession.create(serialize(graph), { graphOptimizationLevel: 'basic', extra: { session: { model_external_initializers_file_folder_path: dir } } });
    return new FiniteDifferences(config, session, readTensorF64(dir, tensors.get('model.embed_tokens.weight')!));
  }

  release = () => this.session.release();

  private async run(ids: number[], embeds: Float64Array, cache = emptyKvCache(this.config, 'float64')) {
    const feeds = stepFeeds(this.config, 'float64', ids, cache);
    feeds.embeds = floatTensor('float64', embeds, [ids.length, this.config.hiddenSize]);
    return this.session.run(feeds);
  }

  /** All-position logits for ids (no cache), row-major [T, vocab]. */
  async logits(ids: number[]): Promise<Float64Array> {
    const H = this.config.hiddenSize;
    const e = new Float64Array(ids.length * H);
    ids.forEach((id, i) => e.set(this.embedding.subarray(id * H, (id + 1) * H), i * H));
    return tensorNumbers((await this.run(ids, e)).logits);
  }

  /** Per tail token: sum_d |dS/de| and sum_d dS/de * e, by central differences; and S itself. */
  async saliency(request: AttributionRequest): Promise<{ logProb: number; l1: number[]; gradInput: number[] }> {
    const { inputIds: ids, prefixLength: p, targetStart } = request;
    const H = this.config.hiddenSize;
    const embedOf = (list: number[]) => {
      const e = new Float64Array(list.length * H);
      list.forEach((id, i) => e.set(this.embedding.subarray(id * H, (id + 1) * H), i * H));
      return e;
    };
    let cache = emptyKvCache(this.config, 'float64');
    let prefixLogits: Float64Array | undefined;
    if (p > 0) {
      const out = await this.run(ids.slice(0, p), embedOf(ids.slice(0, p)));
      cache = presentKvCache(this.config, out);
      prefixLogits = tensorNumbers(out.logits).slice((p - 1) * this.config.vocabSize);
    }
    const tail = ids.slice(p);
    const e = embedOf(tail);
    const S = async (embeds: Float64Array) => {
      const logits = tensorNumbers((await this.run(tail, embeds, cache)).logits);
      let s = 0;
      for (let t = targetStart; t < ids.length; t++) {
        const row = t - 1 - p;
        s += row >= 0 ? logSoftmaxAt(logits.subarray(row * this.config.vocabSize, (row + 1) * this.config.vocabSize), ids[t]) : logSoftmaxAt(prefixLogits!, ids[t]);
      }
      return s;
    };
    const l1 = new Array<number>(tail.length).fill(0);
    const gradInput = new Array<number>(tail.length).fill(0);
    const eps = 1e-5;
    for (let k = 0; k < e.length; k++) {
      const orig = e[k];
      e[k] = orig + eps;
      const plus = await S(e);
      e[k] = orig - eps;
      const minus = await S(e);
      e[k] = orig;
      const d = (plus - minus) / (2 * eps);
      l1[Math.floor(k / H)] += Math.abs(d);
      gradInput[Math.floor(k / H)] += d * orig;
    }
    return { logProb: await S(e), l1, gradInput };
  }
}

function logSoftmaxAt(logits: ArrayLike<number>, id: number): number {
  const max = Math.max(...Array.from(logits));
  const sum = Array.from(logits).reduce((s, l) => s + Math.exp(l - max), 0);
  return logits[id] - max - Math.log(sum);
}

function assertClose(actual: number, expected: number, what: string, rtol = 1e-5, atol = 1e-9) {
  assert.ok(Math.abs(actual - expected) <= atol + rtol * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

const root = mkdtempSync(join(tmpdir(), 'agentchord-attr-'));
after(() => rmSync(root, { recursive: true, force: true }));

for (const { name, spec } of MODELS) {
  describe(`${name}: transformer graphs (float64)`, () => {
    const dir = join(root, name.replace(/\W+/g, '_'));
    let model: LoadedModel;
    let fd: FiniteDifferences;
    before(async () => {
      writeRandomModel(dir, spec);
      model = await loadModel(dir, { device: 'cpu', cacheDir: join(root, 'cache'), dtype: 'float64', threads: 1 });
      fd = await FiniteDifferences.create(dir);
    });
    after(async () => {
      await model?.dispose();
      await fd?.release();
    });

    const cases: Array<[string, AttributionRequest]> = [
      ['no prefix', { inputIds: IDS, prefixLength: 0, targetStart: 5, spans: [{ id: 'a', start: 1, end: 4 }] }],
      ['prefix of 3', { inputIds: IDS, prefixLength: 3, targetStart: 5, spans: [{ id: 'a', start: 3, end: 5 }] }],
      ['targets start one token after the prefix', { inputIds: IDS, prefixLength: 4, targetStart: 5, spans: [] }],
    ];
    for (const [label, request] of cases) {
      test(label, async () => {
        const got = await model.attribute(request);
        const want = await fd.saliency(request);
        assert.equal(got.tokens.length, IDS.length - request.prefixLength);
        assertClose(got.logProb, want.logProb, 'logProb', 1e-10);
        got.tokens.forEach((t, i) => {
          assertClose(t.l1, want.l1[i], `l1[${i}]`);
          assertClose(t.gradInput, want.gradInput[i], `gradInput[${i}]`, 1e-5, 1e-10);
        });
        // the saliency must not be trivially zero before the last target
        assert.ok(got.tokens[0].l1 > 1e-6, `l1[0] = ${got.tokens[0].l1}`);
      });
    }

    test('forward graph logits equal a direct float64 transcription of the transformers model', async () => {
      const config = readModelConfig(dir);
      const want = referenceLogits(dir, config, IDS);
      const got = await fd.logits(IDS);
      want.forEach((row, t) => row.forEach((v, k) => assertClose(got[t * config.vocabSize + k], v, `logits[${t}][${k}]`, 1e-9, 1e-12)));
    });

    test('a prefix KV cache gives the same numbers as no prefix', async () => {
      const spans = [{ id: 'x', start: 3, end: 6 }];
      const full = await model.attribute({ inputIds: IDS, prefixLength: 0, targetStart: 4, spans });
      const cached = await model.attribute({ inputIds: IDS, prefixLength: 3, targetStart: 4, spans });
      assertClose(cached.logProb, full.logProb, 'logProb', 1e-12);
      cached.tokens.forEach((t, i) => {
        assertClose(t.l1, full.tokens[i + 3].l1, `l1[${i + 3}]`, 1e-9);
        assertClose(t.gradInput, full.tokens[i + 3].gradInput, `gradInput[${i + 3}]`, 1e-9, 1e-14);
      });
      for (const key of ['meanL1', 'maxL1', 'meanGradInput', 'maxGradInput'] as const) assertClose(cached.connections.x[key], full.connections.x[key], key, 1e-9, 1e-14);
    });
  });
}
