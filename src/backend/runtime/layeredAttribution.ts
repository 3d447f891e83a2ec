/**
 * Attribution one decoder layer at a time, on the CPU: memory follows the weights and the call's tail rather than the
 * whole model's activations, and the work follows the prefix trick's.
 *
 * Forward, layer by layer over the whole call (prefix and tail) in chunks of rows, each chunk attending to the keys of
 * the chunks before it (so the causal half of the attention is skipped). What the backward pass needs is kept: the
 * prefix's keys and values per layer, and for the tail rows each layer's input and its state after attention.
 * Backward, from the last layer down, through the graphs of ../model/layerGraphs.ts, which recompute a layer's
 * intermediates from those stored inputs. The result at the first layer's input is dS/de for the tail.
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
  buildAttentionVjpGraph,
  buildLayerForwardGraph,
  buildLmHeadVjpGraph,
  buildMlpVjpGraph,
  buildNormVjpGraph,
  type LayerDtype,
  type LayerGraphSpec,
} from '../model/layerGraphs';
import { ropeTables } from '../model/rope';
import { readTensor, readTensorF64, type TensorInfo } from '../model/safetensors';
import { checkedTensor } from '../model/transformer';
import { targetRows } from './attribute';
import { attentionMask } from './feeds';

type FloatArray = Float32Array | Float64Array;

/** How requests are cut into runs; tests use small chunks to exercise the chunking on tiny inputs. */
export interface LayeredTuning {
  /** Rows per forward run: a chunk's scores are [heads, rows, context], so this bounds the forward's working set. */
  forwardChunkRows: number;
  /** Target rows per LM-head run: its logits are [rows, vocab] (150k columns for Qwen). */
  headChunkRows: number;
}

export const DEFAULT_TUNING: LayeredTuning = { forwardChunkRows: 256, headChunkRows: 64 };

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
  const [H, hd] = [c.hiddenSize, c.headDim];
  const embed = read('model.embed_tokens.weight', [c.vocabSize, H]);
  const layers = Array.from({ length: c.numLayers }, (_, l): LayerWeights => {
    const p = `model.layers.${l}`;
    const weights: LayerWeights = {
      ln1: read(`${p}.input_layernorm.weight`, [H]),
      wq: read(`${p}.self_attn.q_proj.weight`, [c.numHeads * hd, H]),
      wk: read(`${p}.self_attn.k_proj.weight`, [c.numKvHeads * hd, H]),
      wv: read(`${p}.self_attn.v_proj.weight`, [c.numKvHeads * hd, H]),
      wo: read(`${p}.self_attn.o_proj.weight`, [H, c.numHeads * hd]),
      ln2: read(`${p}.post_attention_layernorm.weight`, [H]),
      gate: read(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, H]),
      up: read(`${p}.mlp.up_proj.weight`, [c.intermediateSize, H]),
      down: read(`${p}.mlp.down_proj.weight`, [H, c.intermediateSize]),
    };
    if (c.attentionBias) {
      weights.bq = read(`${p}.self_attn.q_proj.bias`, [c.numHeads * hd]);
      weights.bk = read(`${p}.self_attn.k_proj.bias`, [c.numKvHeads * hd]);
      weights.bv = read(`${p}.self_attn.v_proj.bias`, [c.numKvHeads * hd]);
    }
    if (c.qkNorm) {
      weights.qNorm = read(`${p}.self_attn.q_norm.weight`, [hd]);
      weights.kNorm = read(`${p}.self_attn.k_norm.weight`, [hd]);
    }
    return weights;
  });
  const norm = read('model.norm.weight', [H]);
  const head = c.tieWordEmbeddings ? embed : read('lm_head.weight', [c.vocabSize, H]);
  return { embed, layers, norm, head };
}

interface Sessions {
  forward: ort.InferenceSession;
  lmHead: ort.InferenceSession;
  mlp: ort.InferenceSession;
  attention: ort.InferenceSession;
  norm: ort.InferenceSession;
}

export class LayeredAttribution {
  private constructor(
    private readonly config: ModelConfig,
    private readonly dtype: LayerDtype,
    private readonly weights: Weights,
    private readonly sessions: Sessions,
    private readonly tuning: LayeredTuning,
  ) {}

  static async create(dir: string, config: ModelConfig, tensors: Map<string, TensorInfo>, dtype: LayerDtype,
    options: ort.InferenceSession.SessionOptions, tuning: LayeredTuning = DEFAULT_TUNING): Promise<LayeredAttribution> {
    const spec: LayerGraphSpec = { config, dtype };
    const weights = readWeights(dir, config, tensors, dtype);
    // The graphs are small (no weights inside): built in milliseconds, so they are not cached on disk.
    const create = (graph: Graph, extra: ort.InferenceSession.SessionOptions = {}) => ort.InferenceSession.create(serialize(graph), { ...options, ...extra });
    const sessions: Sessions = {
      forward: await create(buildLayerForwardGraph(spec)),
      // The LM head runs once per request on [rows, vocab] logits: its buffers are returned rather than kept in an
      // arena that no other run reuses.
      lmHead: await create(buildLmHeadVjpGraph(spec), { enableCpuMemArena: false }),
      mlp: await create(buildMlpVjpGraph(spec)),
      attention: await create(buildAttentionVjpGraph(spec)),
      norm: await create(buildNormVjpGraph(spec)),
    };
    return new LayeredAttribution(config, dtype, weights, sessions, tuning);
  }

  private tensor(data: FloatArray, dims: number[]): ort.Tensor {
    return new ort.Tensor(this.dtype, data, dims);
  }

  /** Bytes this request needs beyond the weights (stored activations plus the largest working set), estimated. */
  memoryNeeded(request: AttributionRequest): number {
    const c = this.config;
    const bytes = this.dtype === 'float64' ? 8 : 4;
    const n = request.inputIds.length;
    const p = request.prefixLength;
    const t = n - p;
    const groups = c.numHeads / c.numKvHeads;
    const stored = 2 * c.numLayers * t * c.hiddenSize + 2 * c.numLayers * c.numKvHeads * p * c.headDim + 3 * n * c.hiddenSize;
    const chunk = Math.min(this.tuning.forwardChunkRows, n);
    const forward = 4 * c.numHeads * chunk * n + 4 * c.numKvHeads * n * c.headDim;
    const attention = 7 * groups * t * n + 8 * t * c.hiddenSize;
    const mlp = 6 * t * c.intermediateSize;
    const head = 4 * Math.min(this.tuning.headChunkRows, n - request.targetStart) * c.vocabSize;
    return bytes * (stored + Math.max(forward, attention, mlp, head));
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

  async attribute(request: AttributionRequest, signal?: AbortSignal): Promise<LayeredSaliency> {
    this.checkMemory(request);
    const c = this.config;
    const H = c.hiddenSize;
    const { inputIds: ids, prefixLength: p } = request;
    const n = ids.length;
    const t = n - p;
    const Float = this.dtype === 'float64' ? Float64Array : Float32Array;
    const { embed, layers } = this.weights;

    let h: FloatArray = new Float(n * H);
    ids.forEach((id, i) => h.set(embed.subarray(id * H, (id + 1) * H), i * H));
    const tailEmbeddings = h.slice(p * H);
    // Rotary tables as two runs (prefix, then tail) would compute them: dynamic NTK scaling depends on the run's length.
    const rope = this.ropeRows(p, n);

    // Forward: layer by layer, chunk by chunk; keep the prefix's keys/values and the tail's layer inputs.
    const prefixKv: Array<{ key: ort.Tensor; value: ort.Tensor }> = [];
    const tailInputs: FloatArray[] = [];
    const tailMids: FloatArray[] = [];
    const chunks = chunkRanges(p, n, this.tuning.forwardChunkRows);
    const emptyKv = this.tensor(new Float(0), [c.numKvHeads, 0, c.headDim]);
    for (let l = 0; l < c.numLayers; l++) {
      signal?.throwIfAborted();
      const w = layers[l];
      const next = new Float(n * H);
      const mid = new Float(t * H);
      tailInputs.push(h.slice(p * H));
      let past = { key: emptyKv, value: emptyKv };
      for (const [s, e] of chunks) {
        const out = await this.sessions.forward.run({
          h: this.tensor(h.subarray(s * H, e * H), [e - s, H]),
          past_key: past.key,
          past_value: past.value,
          cos: this.tensor(rope.cos.subarray(s * c.headDim, e * c.headDim), [e - s, c.headDim]),
          sin: this.tensor(rope.sin.subarray(s * c.headDim, e * c.headDim), [e - s, c.headDim]),
          mask: attentionMask(c, s, e - s, this.dtype),
          ...this.layerFeeds(w),
        });
        next.set(out.h_out.data as FloatArray, s * H);
        if (s >= p) mid.set(out.h_mid.data as FloatArray, (s - p) * H);
        past = { key: out.present_key, value: out.present_value };
        if (e === p) prefixKv.push(past);
      }
      if (p === 0) prefixKv.push({ key: emptyKv, value: emptyKv });
      tailMids.push(mid);
      h = next;
    }

    // The LM head on the target rows: log p and its gradient at the last layer's output.
    signal?.throwIfAborted();
    const targets = targetRows(request); // rows relative to the tail
    let logProb = 0;
    let dh: FloatArray = new Float(t * H);
    const headRows = this.tuning.headChunkRows;
    for (let k = 0; k < targets.rows.length; k += headRows) {
      const rows = targets.rows.slice(k, k + headRows);
      const hidden = new Float(rows.length * H);
      rows.forEach((r, i) => hidden.set(h.subarray((p + r) * H, (p + r + 1) * H), i * H));
      const out = await this.sessions.lmHead.run({
        hidden: this.tensor(hidden, [rows.length, H]),
        norm: this.tensor(this.weights.norm, [H]),
        head: this.tensor(this.weights.head, [c.vocabSize, H]),
        target_ids: new ort.Tensor('int64', BigInt64Array.from(targets.ids.slice(k, k + headRows), BigInt), [rows.length]),
      });
      logProb += Number((out.log_prob.data as FloatArray)[0]);
      const d = out.d_hidden.data as FloatArray;
      rows.forEach((r, i) => dh.set(d.subarray(i * H, (i + 1) * H), r * H));
    }

    // Backward, from the last layer to the first.
    const tailRope = { cos: this.tensor(rope.cos.subarray(p * c.headDim), [t, c.headDim]), sin: this.tensor(rope.sin.subarray(p * c.headDim), [t, c.headDim]) };
    const tailMask = attentionMask(c, p, t, this.dtype);
    const zeros = this.tensor(new Float(t * H), [t, H]);
    const groups = c.numHeads / c.numKvHeads;
    const [qRows, kvRows] = [groups * c.headDim, c.headDim];
    for (let l = c.numLayers - 1; l >= 0; l--) {
      signal?.throwIfAborted();
      const w = layers[l];
      const hIn = this.tensor(tailInputs[l], [t, H]);
      const block = await this.sessions.mlp.run({
        h_in: hIn,
        h_mid: this.tensor(tailMids[l], [t, H]),
        dh_out: this.tensor(dh, [t, H]),
        ln1: this.tensor(w.ln1, [H]),
        ln2: this.tensor(w.ln2, [H]),
        wo: this.tensor(w.wo, [H, c.numHeads * c.headDim]),
        w_gate: this.tensor(w.gate, [c.intermediateSize, H]),
        w_up: this.tensor(w.up, [c.intermediateSize, H]),
        w_down: this.tensor(w.down, [H, c.intermediateSize]),
      });
      const dContext = block.d_context.data as FloatArray; // [kvHeads, G*T, hd]
      const { key: pastKey, value: pastValue } = prefixKv[l];
      let dNormed = zeros;
      for (let kv = 0; kv < c.numKvHeads; kv++) {
        const rowsOf = (x: FloatArray, size: number) => x.subarray(kv * size, (kv + 1) * size);
        const feeds: Record<string, ort.Tensor> = {
          normed: block.normed,
          wq: this.tensor(rowsOf(w.wq, qRows * H), [qRows, H]),
          wk: this.tensor(rowsOf(w.wk, kvRows * H), [kvRows, H]),
          wv: this.tensor(rowsOf(w.wv, kvRows * H), [kvRows, H]),
          cos: tailRope.cos,
          sin: tailRope.sin,
          past_key: this.tensor(rowsOf(pastKey.data as FloatArray, p * c.headDim), [1, p, c.headDim]),
          past_value: this.tensor(rowsOf(pastValue.data as FloatArray, p * c.headDim), [1, p, c.headDim]),
          mask: tailMask,
          d_context: this.tensor(rowsOf(dContext, groups * t * c.headDim), [1, groups * t, c.headDim]),
          d_normed: dNormed,
        };
        if (w.bq && w.bk && w.bv) {
          feeds.bq = this.tensor(rowsOf(w.bq, qRows), [qRows]);
          feeds.bk = this.tensor(rowsOf(w.bk, kvRows), [kvRows]);
          feeds.bv = this.tensor(rowsOf(w.bv, kvRows), [kvRows]);
        }
        if (w.qNorm && w.kNorm) {
          feeds.q_norm = this.tensor(w.qNorm, [c.headDim]);
          feeds.k_norm = this.tensor(w.kNorm, [c.headDim]);
        }
        dNormed = (await this.sessions.attention.run(feeds)).d_normed_out;
      }
      const out = await this.sessions.norm.run({ h_in: hIn, ln1: this.tensor(w.ln1, [H]), d_normed: dNormed, dh_mid: block.dh_mid });
      dh = out.dh_in.data as FloatArray;
      // The stored inputs of this layer are no longer needed: let them go as the backward pass descends.
      tailInputs[l] = tailMids[l] = new Float(0);
      prefixKv[l] = { key: emptyKv, value: emptyKv };
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

  private layerFeeds(w: LayerWeights): Record<string, ort.Tensor> {
    const c = this.config;
    const [H, hd] = [c.hiddenSize, c.headDim];
    const feeds: Record<string, ort.Tensor> = {
      ln1: this.tensor(w.ln1, [H]),
      wq: this.tensor(w.wq, [c.numHeads * hd, H]),
      wk: this.tensor(w.wk, [c.numKvHeads * hd, H]),
      wv: this.tensor(w.wv, [c.numKvHeads * hd, H]),
      ln2: this.tensor(w.ln2, [H]),
      wo: this.tensor(w.wo, [H, c.numHeads * hd]),
      w_gate: this.tensor(w.gate, [c.intermediateSize, H]),
      w_up: this.tensor(w.up, [c.intermediateSize, H]),
      w_down: this.tensor(w.down, [H, c.intermediateSize]),
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

/** [start, end) row ranges of at most `size` rows covering [0, p) and then [p, n), so that one range ends at p. */
export function chunkRanges(p: number, n: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [from, to] of [[0, p], [p, n]]) for (let s = from; s < to; s += size) out.push([s, Math.min(s + size, to)]);
  return out;
}
