/**
 * Attribution one decoder layer at a time, on the CPU: memory follows the weights and the call's tail rather than the
 * whole model's activations, and the work follows the prefix trick's.
 *
 * Forward, layer by layer over the whole call (prefix and tail): projections and MLP on all rows at once, attention
 * per KV head on chunks of query rows against the keys they can see (../model/layerGraphs.ts). What the backward
 * pass needs is kept: the prefix's keys and values per layer, and for the tail rows each layer's input and its state
 * after attention. Backward, from the last layer down, recomputing a layer's intermediates from those stored inputs
 * (activation checkpointing); the prefix's keys are constants. The gradient at the first layer's input is dS/de.
 *
 * The weights are read once into float arrays and fed to the graphs as inputs (one session per graph kind serves
 * every layer). They are held in the compute dtype: ONNX Runtime's CPU kernels have no bfloat16 matrix product, and
 * widening a layer's weights on each use (twice per request) cost more time than the memory saved was worth.
 */
import { freemem } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { AttributionRequest } from '../../protocol/attribution';
import { serialize, type Graph } from '../onnx';
import type { ModelConfig } from '../model/config';
import {
  buildAttentionGraph,
  buildAttentionVjpGraph,
  buildLmHeadVjpGraph,
  buildMlpVjpGraph,
  buildOMlpGraph,
  buildQkvGraph,
  buildQkvVjpGraph,
  type LayerDtype,
  type LayerGraphSpec,
} from '../model/layerGraphs';
import { ropeTables } from '../model/rope';
import { readTensor, readTensorF64, type TensorInfo } from '../model/safetensors';
import { checkedTensor, layerTensors, type TensorSpec } from '../model/transformer';
import { targetRows } from './attribute';
import { tokenMajorMask } from './feeds';

type FloatArray = Float32Array | Float64Array;

/** How requests are cut into runs; tests use small chunks to exercise the chunking on tiny inputs. */
export interface LayeredTuning {
  /** Rows per forward run: a chunk's scores are [heads, rows, context], so this bounds the forward's working set. */
  forwardChunkRows: number;
  /** Target rows per LM-head run: its logits are [rows, vocab] (150k columns for Qwen). */
  headChunkRows: number;
}

const DEFAULT_TUNING: LayeredTuning = { forwardChunkRows: 256, headChunkRows: 64 };

interface LayerWeights {
  ln1: FloatArray;
  wq: FloatArray;
  wk: FloatArray;
  wv: FloatArray;
  bq?: FloatArray;
  bk?: FloatArray;
  bv?: FloatArray;
  qNorm?: FloatArray;
  kNorm?: FloatArray;
  wo: FloatArray;
  ln2: FloatArray;
  gate: FloatArray;
  up: FloatArray;
  down: FloatArray;
}

interface Weights {
  embed: FloatArray;
  layers: LayerWeights[];
  norm: FloatArray;
  /** The LM head [vocab, hidden]: the embedding itself when tied. */
  head: FloatArray;
}

export interface LayeredSaliency {
  logProb: number;
  /** Per tail token: sum |dS/de|, sum dS/de * e, ||dS/de||_2. */
  l1: Float64Array;
  gradInput: Float64Array;
  l2: Float64Array;
}

/** The request does not fit in memory; the message names its size and what it needs. */
export class AttributionMemoryError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'AttributionMemoryError';
  }
}

function readWeights(dir: string, config: ModelConfig, tensors: Map<string, TensorInfo>, dtype: LayerDtype): Weights {
  const c = config;
  const read = (name: string, shape: number[]): FloatArray => {
    const info = checkedTensor(tensors, name, shape);
    return dtype === 'float64' ? readTensorF64(dir, info) : readTensor(dir, info);
  };
  const H = c.hiddenSize;
  const embed = read('model.embed_tokens.weight', [c.vocabSize, H]);
  const layers = Array.from({ length: c.numLayers }, (_, l): LayerWeights => {
    const t = layerTensors(c, l);
    const optional = (spec: TensorSpec | undefined) => (spec ? read(...spec) : undefined);
    return {
      ln1: read(...t.ln1), wq: read(...t.wq), wk: read(...t.wk), wv: read(...t.wv), wo: read(...t.wo),
      ln2: read(...t.ln2), gate: read(...t.gate), up: read(...t.up), down: read(...t.down),
      bq: optional(t.bq), bk: optional(t.bk), bv: optional(t.bv), qNorm: optional(t.qNorm), kNorm: optional(t.kNorm),
    };
  });
  const norm = read('model.norm.weight', [H]);
  const head = c.tieWordEmbeddings ? embed : read('lm_head.weight', [c.vocabSize, H]);
  return { embed, layers, norm, head };
}

/**
 * Named buffers kept from one request to the next. Fresh memory costs a page fault per 4 KiB: at 0.6B-model sizes a
 * request allocating its few GB afresh spent seconds in the kernel. A buffer grows when a longer request needs it; its
 * old contents are garbage, so users overwrite it (or fill it) before reading.
 */
class BufferPool {
  private readonly buffers = new Map<string, FloatArray>();
  constructor(private readonly dtype: LayerDtype) {}

  get(name: string, length: number): FloatArray {
    let b = this.buffers.get(name);
    if (!b || b.length < length) {
      this.buffers.delete(name); // let the old one go before the new one is allocated
      b = this.dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
      this.buffers.set(name, b);
    }
    return b.subarray(0, length);
  }

}

interface Sessions {
  qkv: ort.InferenceSession;
  qkvPre: ort.InferenceSession;
  attention: ort.InferenceSession;
  oMlp: ort.InferenceSession;
  lmHead: ort.InferenceSession;
  mlpVjp: ort.InferenceSession;
  attentionVjp: ort.InferenceSession;
  qkvVjp: ort.InferenceSession;
}

export class LayeredAttribution {
  private constructor(
    private readonly config: ModelConfig,
    private readonly dtype: LayerDtype,
    private readonly weights: Weights,
    private readonly sessions: Sessions,
    private readonly tuning: LayeredTuning,
  ) {
    this.buffers = new BufferPool(dtype);
  }

  private readonly buffers: BufferPool;

  static async create(dir: string, config: ModelConfig, tensors: Map<string, TensorInfo>, dtype: LayerDtype,
    options: ort.InferenceSession.SessionOptions, tuning: LayeredTuning = DEFAULT_TUNING): Promise<LayeredAttribution> {
    const spec: LayerGraphSpec = { config, dtype };
    const weights = readWeights(dir, config, tensors, dtype);
    // The graphs are small (no weights inside): built in milliseconds, so they are not cached on disk.
    const create = (graph: Graph, extra: ort.InferenceSession.SessionOptions = {}) => ort.InferenceSession.create(serialize(graph), { ...options, ...extra });
    const sessions: Sessions = {
      qkv: await create(buildQkvGraph(spec)),
      qkvPre: await create(buildQkvGraph(spec, { preNorm: true })),
      attention: await create(buildAttentionGraph(spec)),
      oMlp: await create(buildOMlpGraph(spec)),
      // The LM head runs once per request on [rows, vocab] logits: its buffers are returned rather than kept in an
      // arena that no other run reuses.
      lmHead: await create(buildLmHeadVjpGraph(spec), { enableCpuMemArena: false }),
      mlpVjp: await create(buildMlpVjpGraph(spec)),
      attentionVjp: await create(buildAttentionVjpGraph(spec)),
      qkvVjp: await create(buildQkvVjpGraph(spec)),
    };
    return new LayeredAttribution(config, dtype, weights, sessions, tuning);
  }

  private tensor(data: FloatArray, dims: number[]): ort.Tensor {
    return new ort.Tensor(this.dtype, data, dims);
  }

  /** Bytes this request needs beyond the weights (stored activations, masks, the largest working set), estimated. */
  memoryNeeded(request: AttributionRequest): number {
    const c = this.config;
    const bytes = this.dtype === 'float64' ? 8 : 4;
    const n = request.inputIds.length;
    const p = request.prefixLength;
    const t = n - p;
    const groups = c.numHeads / c.numKvHeads;
    const qkvWidth = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    const stored = 2 * c.numLayers * t * c.hiddenSize + 2 * c.numLayers * c.numKvHeads * p * c.headDim + 3 * n * c.hiddenSize;
    const masks = (groups * n * (n + this.tuning.forwardChunkRows)) / 2;
    const forward = 3 * qkvWidth * n + 2 * c.numHeads * c.headDim * n + 4 * c.intermediateSize * n;
    const backward = 5 * qkvWidth * t + 2 * qkvWidth * n + 6 * c.intermediateSize * t;
    const head = 4 * Math.min(this.tuning.headChunkRows, n - request.targetStart) * c.vocabSize;
    return bytes * (stored + masks + Math.max(forward, backward, head));
  }

  /** Throws AttributionMemoryError before anything is allocated when the request cannot fit in free memory. */
  checkMemory(request: AttributionRequest): void {
    const needed = this.memoryNeeded(request);
    const constrained = process.constrainedMemory?.() || Infinity; // a cgroup limit, where there is one
    const available = Math.min(freemem(), constrained);
    if (needed > available) {
      const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
      throw new AttributionMemoryError(`attribution of a ${request.inputIds.length}-token call (prefix ${request.prefixLength}) needs about ${gib(needed)} ` +
        `of memory beyond the model's weights, but only ${gib(available)} is available: shorten the call, use a longer prefix, or free memory`);
    }
  }

  /** Requests run one at a time: they share the buffers (and would only compete for the same cores). */
  private queue: Promise<unknown> = Promise.resolve();
  /** The prefix ids whose keys and values the prefixKey/prefixValue buffers hold (the last request's prefix). */
  private cachedPrefix?: number[];

  attribute(request: AttributionRequest, signal?: AbortSignal): Promise<LayeredSaliency> {
    const run = this.queue.then(() => this.attributeNow(request, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async attributeNow(request: AttributionRequest, signal?: AbortSignal): Promise<LayeredSaliency> {
    signal?.throwIfAborted();
    this.checkMemory(request);
    const c = this.config;
    const [H, hd, kvH, G] = [c.hiddenSize, c.headDim, c.numKvHeads, c.numHeads / c.numKvHeads];
    const { inputIds: ids, prefixLength: p } = request;
    const n = ids.length;
    const t = n - p;
    const { embed, layers } = this.weights;
    const buffer = (name: string, length: number) => this.buffers.get(name, length);
    const data = (x: ort.Tensor) => x.data as FloatArray;
    const qkvWidth = { query: c.numHeads * hd, key: kvH * hd };

    // Calls of one agent share their prefix (the system prompt): when this one's is the previous request's, its keys
    // and values are still in the buffers, and the forward pass starts at the tail (row `first`).
    const cached = p > 0 && this.cachedPrefix !== undefined && this.cachedPrefix.length === p && this.cachedPrefix.every((id, i) => id === ids[i]);
    const first = cached ? p : 0;
    const r = n - first;
    if (!cached) this.cachedPrefix = undefined; // its buffers are about to be overwritten

    // The hidden states of the rows run forward, in two buffers that take turns as a layer's input and output.
    let [hName, h] = ['h', buffer('h', r * H)];
    for (let i = first; i < n; i++) h.set(embed.subarray(ids[i] * H, (ids[i] + 1) * H), (i - first) * H);
    const tailEmbeddings = buffer('tailEmbeddings', t * H);
    tailEmbeddings.set(h.subarray((p - first) * H));
    // Rotary tables as two runs (prefix, then tail) would compute them: dynamic NTK scaling depends on the run's length.
    const rope = this.ropeRows(p, n);
    const ropeFeeds = (from: number, to: number) => ({
      cos: this.tensor(rope.cos.subarray(from * hd, to * hd), [to - from, hd]),
      sin: this.tensor(rope.sin.subarray(from * hd, to * hd), [to - from, hd]),
    });
    const chunks = chunkRanges(p, n, this.tuning.forwardChunkRows).filter(([s]) => s >= first);
    // One mask per chunk of query rows, the same in every layer and head (forward and backward).
    const maskStore = buffer('masks', chunks.reduce((sum, [s, e]) => sum + G * (e - s) * e, 0));
    let maskOffset = 0;
    const masks = new Map(chunks.map(([s, e]) => {
      const size = G * (e - s) * e;
      const mask = tokenMajorMask(c, s, e, maskStore.subarray(maskOffset, (maskOffset += size)));
      return [s, this.tensor(mask, [G * (e - s), e])];
    }));
    // A query chunk of one KV head: rows [s*G, e*G) of its token-major block of `rows` tokens; its first e keys.
    const queryRows = (x: FloatArray, kv: number, rows: number, s: number, e: number) => x.subarray((kv * rows * G + s * G) * hd, (kv * rows * G + e * G) * hd);
    const keyRows = (x: FloatArray, kv: number, rows: number, e: number) => x.subarray(kv * rows * hd, (kv * rows + e) * hd);

    // Forward: keep the prefix's keys/values and the tail's layer inputs and post-attention states.
    const allRope = ropeFeeds(first, n);
    for (let l = 0; l < c.numLayers; l++) {
      signal?.throwIfAborted();
      const [attentionWeights, mlpWeights] = [this.attentionWeightFeeds(layers[l]), this.mlpWeightFeeds(layers[l])];
      const hAll = this.tensor(h, [r, H]);
      const query = buffer('query', r * qkvWidth.query);
      const key = buffer('key', r * qkvWidth.key);
      const value = buffer('value', r * qkvWidth.key);
      await this.sessions.qkv.run({ h: hAll, ...allRope, ...attentionWeights }, {
        query: this.tensor(query, [kvH, r * G, hd]),
        key: this.tensor(key, [kvH, r, hd]),
        value: this.tensor(value, [kvH, r, hd]),
      });
      // Keys and values of all n rows: this run's, or the cached prefix's followed by the tail's.
      const [allKeys, allValues] = cached
        ? [
            joinHeadRows(buffer(`prefixKey${l}`, kvH * p * hd), key, buffer('keyAll', n * qkvWidth.key), kvH, p, t, hd),
            joinHeadRows(buffer(`prefixValue${l}`, kvH * p * hd), value, buffer('valueAll', n * qkvWidth.key), kvH, p, t, hd),
          ]
        : [key, value];
      const context = buffer('context', r * qkvWidth.query);
      for (let kv = 0; kv < kvH; kv++) {
        for (const [s, e] of chunks) {
          await this.sessions.attention.run({
            query: this.tensor(queryRows(query, kv, r, s - first, e - first), [G * (e - s), hd]),
            key: this.tensor(keyRows(allKeys, kv, n, e), [e, hd]),
            value: this.tensor(keyRows(allValues, kv, n, e), [e, hd]),
            mask: masks.get(s)!,
          }, { context: this.tensor(queryRows(context, kv, r, s - first, e - first), [G * (e - s), hd]) });
        }
      }
      const hMid = buffer('hMid', r * H);
      const outName = hName === 'h' ? 'h2' : 'h';
      const hOut = buffer(outName, r * H);
      await this.sessions.oMlp.run({ h: hAll, context: this.tensor(context, [kvH, r * G, hd]), ...mlpWeights }, {
        h_mid: this.tensor(hMid, [r, H]),
        h_out: this.tensor(hOut, [r, H]),
      });
      buffer(`tailInput${l}`, t * H).set(h.subarray((p - first) * H));
      buffer(`tailMid${l}`, t * H).set(hMid.subarray((p - first) * H));
      if (!cached) {
        copyHeadRows(key, n, buffer(`prefixKey${l}`, kvH * p * hd), p, kvH, hd);
        copyHeadRows(value, n, buffer(`prefixValue${l}`, kvH * p * hd), p, kvH, hd);
      }
      [hName, h] = [outName, hOut];
    }
    if (p > 0) this.cachedPrefix = ids.slice(0, p);

    // The LM head on the target rows: log p and its gradient at the last layer's output.
    signal?.throwIfAborted();
    const targets = targetRows(request); // rows relative to the tail
    let logProb = 0;
    const dh = buffer('dh', t * H).fill(0);
    const headRowsPerRun = this.tuning.headChunkRows;
    for (let k = 0; k < targets.rows.length; k += headRowsPerRun) {
      const rows = targets.rows.slice(k, k + headRowsPerRun);
      const hidden = buffer('targetHidden', rows.length * H);
      rows.forEach((row, i) => hidden.set(h.subarray((p - first + row) * H, (p - first + row + 1) * H), i * H));
      const out = await this.sessions.lmHead.run({
        hidden: this.tensor(hidden, [rows.length, H]),
        norm: this.tensor(this.weights.norm, [H]),
        head: this.tensor(this.weights.head, [c.vocabSize, H]),
        target_ids: new ort.Tensor('int64', BigInt64Array.from(targets.ids.slice(k, k + headRowsPerRun), BigInt), [rows.length]),
      });
      logProb += Number(data(out.log_prob)[0]);
      const d = data(out.d_hidden);
      rows.forEach((r, i) => dh.set(d.subarray(i * H, (i + 1) * H), r * H));
    }

    // Backward, from the last layer to the first.
    const tailRope = ropeFeeds(p, n);
    const tailChunks = chunks.filter(([s]) => s >= p);
    const pastRows = new ort.Tensor('int64', BigInt64Array.of(BigInt(p)), [1]);
    const dhTensor = this.tensor(dh, [t, H]);
    for (let l = c.numLayers - 1; l >= 0; l--) {
      signal?.throwIfAborted();
      const [attentionWeights, mlpWeights] = [this.attentionWeightFeeds(layers[l]), this.mlpWeightFeeds(layers[l])];
      const dhMid = this.tensor(buffer('dhMid', t * H), [t, H]);
      const dContext = buffer('dContext', t * qkvWidth.query); // [kvH, t*G, hd]
      await this.sessions.mlpVjp.run({ h_mid: this.tensor(buffer(`tailMid${l}`, t * H), [t, H]), dh_out: dhTensor, ...mlpWeights }, {
        dh_mid: dhMid,
        d_context: this.tensor(dContext, [kvH, t * G, hd]),
      });
      const hIn = this.tensor(buffer(`tailInput${l}`, t * H), [t, H]);
      const [query, tailKey, tailValue] = [buffer('query', t * qkvWidth.query), buffer('key', t * qkvWidth.key), buffer('value', t * qkvWidth.key)];
      const [qPre, kPre] = [this.tensor(buffer('qPre', t * qkvWidth.query), [t, c.numHeads, hd]), this.tensor(buffer('kPre', t * qkvWidth.key), [t, kvH, hd])];
      await this.sessions.qkvPre.run({ h: hIn, ...tailRope, ...attentionWeights }, {
        query: this.tensor(query, [kvH, t * G, hd]),
        key: this.tensor(tailKey, [kvH, t, hd]),
        value: this.tensor(tailValue, [kvH, t, hd]),
        q_pre: qPre,
        k_pre: kPre,
      });
      const key = joinHeadRows(buffer(`prefixKey${l}`, kvH * p * hd), tailKey, buffer('keyAll', n * qkvWidth.key), kvH, p, t, hd); // [kvH, n, hd]
      const value = joinHeadRows(buffer(`prefixValue${l}`, kvH * p * hd), tailValue, buffer('valueAll', n * qkvWidth.key), kvH, p, t, hd);
      const dQuery = buffer('dQuery', t * qkvWidth.query);
      const dKey = buffer('dKey', t * qkvWidth.key).fill(0);
      const dValue = buffer('dValue', t * qkvWidth.key).fill(0);
      for (let kv = 0; kv < kvH; kv++) {
        for (const [s, e] of tailChunks) {
          const [a, b] = [s - p, e - p];
          const out = await this.sessions.attentionVjp.run({
            query: this.tensor(queryRows(query, kv, t, a, b), [G * (b - a), hd]),
            key: this.tensor(keyRows(key, kv, n, e), [e, hd]),
            value: this.tensor(keyRows(value, kv, n, e), [e, hd]),
            mask: masks.get(s)!,
            d_context: this.tensor(queryRows(dContext, kv, t, a, b), [G * (b - a), hd]),
            past_rows: pastRows,
          }, {
            d_query: this.tensor(queryRows(dQuery, kv, t, a, b), [G * (b - a), hd]),
            d_key: this.tensor(buffer('dKeyChunk', b * hd), [b, hd]),
            d_value: this.tensor(buffer('dValueChunk', b * hd), [b, hd]),
          });
          addInto(dKey, kv * t * hd, data(out.d_key)); // tail key rows 0..b
          addInto(dValue, kv * t * hd, data(out.d_value));
        }
      }
      await this.sessions.qkvVjp.run({
        h_in: hIn,
        ...attentionWeights,
        ...tailRope,
        q_pre: qPre,
        k_pre: kPre,
        d_query: this.tensor(dQuery, [kvH, t * G, hd]),
        d_key: this.tensor(dKey, [kvH, t, hd]),
        d_value: this.tensor(dValue, [kvH, t, hd]),
        dh_mid: dhMid,
      }, { dh_in: dhTensor });
    }

    const l1 = new Float64Array(t);
    const gradInput = new Float64Array(t);
    const l2 = new Float64Array(t);
    for (let i = 0; i < t; i++) {
      let [a, b, q] = [0, 0, 0];
      for (let d = i * H; d < (i + 1) * H; d++) {
        const g = dh[d];
        a += Math.abs(g);
        b += g * tailEmbeddings[d];
        q += g * g;
      }
      [l1[i], gradInput[i], l2[i]] = [a, b, Math.sqrt(q)];
    }
    return { logProb, l1, gradInput, l2 };
  }

  private attentionWeightFeeds(w: LayerWeights): Record<string, ort.Tensor> {
    const c = this.config;
    const [H, hd] = [c.hiddenSize, c.headDim];
    const feeds: Record<string, ort.Tensor> = {
      ln1: this.tensor(w.ln1, [H]),
      wq: this.tensor(w.wq, [c.numHeads * hd, H]),
      wk: this.tensor(w.wk, [c.numKvHeads * hd, H]),
      wv: this.tensor(w.wv, [c.numKvHeads * hd, H]),
    };
    if (w.bq && w.bk && w.bv) {
      feeds.bq = this.tensor(w.bq, [c.numHeads * hd]);
      feeds.bk = this.tensor(w.bk, [c.numKvHeads * hd]);
      feeds.bv = this.tensor(w.bv, [c.numKvHeads * hd]);
    }
    if (w.qNorm && w.kNorm) {
      feeds.q_norm = this.tensor(w.qNorm, [hd]);
      feeds.k_norm = this.tensor(w.kNorm, [hd]);
    }
    return feeds;
  }

  private mlpWeightFeeds(w: LayerWeights): Record<string, ort.Tensor> {
    const c = this.config;
    const H = c.hiddenSize;
    return {
      wo: this.tensor(w.wo, [H, c.numHeads * c.headDim]),
      ln2: this.tensor(w.ln2, [H]),
      w_gate: this.tensor(w.gate, [c.intermediateSize, H]),
      w_up: this.tensor(w.up, [c.intermediateSize, H]),
      w_down: this.tensor(w.down, [H, c.intermediateSize]),
    };
  }

  /** Rope rows for positions 0..n-1: the prefix's as one run of p tokens computes them, the tail's as a run up to n. */
  private ropeRows(p: number, n: number): { cos: FloatArray; sin: FloatArray } {
    const dtype = this.dtype;
    const positions = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const prefix = ropeTables(this.config, positions(0, p), dtype);
    const tail = ropeTables(this.config, positions(p, n), dtype);
    const join = (a: FloatArray, b: FloatArray) => {
      const out = dtype === 'float64' ? new Float64Array(a.length + b.length) : new Float32Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    };
    return { cos: join(prefix.cos, tail.cos), sin: join(prefix.sin, tail.sin) };
  }

  async release(): Promise<void> {
    for (const s of Object.values(this.sessions)) await s.release();
  }
}

/** Rows [0, count) of each head of x [heads, rows, width] into out [heads, count, width]. */
function copyHeadRows(x: FloatArray, rows: number, out: FloatArray, count: number, heads: number, width: number): void {
  for (let k = 0; k < heads; k++) out.set(x.subarray(k * rows * width, (k * rows + count) * width), k * count * width);
}

/** [heads, a, width] and [heads, b, width] joined along the rows into out: [heads, a + b, width]. */
function joinHeadRows(first: FloatArray, second: FloatArray, out: FloatArray, heads: number, a: number, b: number, width: number): FloatArray {
  for (let k = 0; k < heads; k++) {
    out.set(first.subarray(k * a * width, (k + 1) * a * width), k * (a + b) * width);
    out.set(second.subarray(k * b * width, (k + 1) * b * width), (k * (a + b) + a) * width);
  }
  return out;
}

function addInto(target: FloatArray, offset: number, values: FloatArray): void {
  for (let i = 0; i < values.length; i++) target[offset + i] += values[i];
}

/** [start, end) row ranges of at most `size` rows covering [0, p) and then [p, n), so that one range ends at p. */
export function chunkRanges(p: number, n: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [from, to] of [[0, p], [p, n]]) for (let s = from; s < to; s += size) out.push([s, Math.min(s + size, to)]);
  return out;
}
