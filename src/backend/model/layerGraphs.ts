/**
 * Graphs of the pieces of one decoder layer, for layered attribution (../runtime/layeredAttribution.ts). The weights
 * are graph inputs rather than initializers, so one session of each graph serves every layer, and ONNX Runtime only
 * ever holds one layer's working set instead of the whole model's activations (the reason ./transformer.ts's
 * whole-model gradient graph needs 13 GiB for a 0.6B model).
 *
 * A layer is cut where the work changes shape: the row-wise parts (projections, MLP) run on all rows at once, so that
 * their matrix products are large; attention runs per KV head on chunks of query rows against only the keys those
 * rows can see, so that its score matrices stay small (cache-sized) and the causal half is never computed.
 *
 * Notation: H hidden, T rows of a run, G query heads per KV head, hd head dim, M visible key rows. Queries of one KV
 * head are token-major, [T*G, hd]: row t*G + k is query head k of that group at token t, so a chunk of tokens is a
 * contiguous block of rows.
 *
 *   qkv            h [T,H], ln1, q/k/v weights (all heads), cos, sin -> query [kvH, T*G, hd] (scaled), key, value
 *                  [kvH, T, hd]; with preNorm also q_pre [T, nH, hd], k_pre [T, kvH, hd] (projections before the
 *                  q/k norms and rotary embeddings, for qkv_vjp)
 *   attention      query [G*C, hd], key, value [M, hd], mask [G*C, M] -> context [G*C, hd] (one KV head, one chunk)
 *   o_mlp          h, context [kvH, T*G, hd], o/ln2/gate/up/down -> h_mid (after attention), h_out
 *   lm_head_vjp    hidden [R, H], norm, head [V, H], target_ids [R] -> log_prob = sum log p(targets), d_hidden
 *   mlp_vjp        h_mid, dh_out, o/ln2/gate/up/down -> dh_mid, d_context [kvH, T*G, hd]
 *   attention_vjp  query, key, value, mask, d_context, past_rows -> d_query [G*C, hd], d_key and d_value for the key
 *                  rows from past_rows on ([M - past_rows, hd]; the cached prefix's keys are constants)
 *   qkv_vjp        h_in, ln1, q/k/v weights, cos, sin, q_pre, k_pre, d_query, d_key, d_value, dh_mid -> dh_in
 *
 * The backward graphs recompute what they need from stored layer inputs (activation checkpointing). Where a rule
 * table would do (norms, rotary embeddings, the MLP), they are vector-Jacobian products built by ../onnx's
 * differentiate on S' = sum(y * dy); attention's backward is written out, because the rule table would keep more
 * [rows, keys] matrices alive and compute key gradients for the cached rows too.
 */
import { differentiate, Graph, type Value } from '../onnx';
import type { ModelConfig } from './config';
import { checkArchitecture, rmsNorm, rope } from './transformer';

/** Layered attribution computes in float32 (CPU) or float64 (finite-difference tests). */
export type LayerDtype = 'float32' | 'float64';

export interface LayerGraphSpec {
  config: ModelConfig;
  dtype: LayerDtype;
}

/** sum_k sum(y_k * dy_k), whose gradient w.r.t. x is sum_k J_k(x)^T dy_k. */
function vjp(g: Graph, pairs: Array<[Value, Value]>, wrt: Value[]): Value[] {
  const terms = pairs.map(([y, dy]) => g.reduceSum(g.mul(y, dy), y.shape.map((_, i) => i), false));
  return differentiate(g, terms.reduce((a, b) => g.add(a, b)), wrt);
}

function start(name: string, spec: LayerGraphSpec): Graph {
  checkArchitecture(spec.config);
  return new Graph(name);
}

const dims = (c: ModelConfig) => ({ H: c.hiddenSize, hd: c.headDim, nH: c.numHeads, kvH: c.numKvHeads, G: c.numHeads / c.numKvHeads });

interface AttentionWeights {
  ln1: Value;
  wq: Value;
  wk: Value;
  wv: Value;
  bq?: Value;
  bk?: Value;
  bv?: Value;
  qNorm?: Value;
  kNorm?: Value;
}

function attentionWeightInputs(g: Graph, spec: LayerGraphSpec): AttentionWeights {
  const { config: c, dtype } = spec;
  const { H, hd, nH, kvH } = dims(c);
  const bias = (name: string, dim: number) => (c.attentionBias ? g.input(name, dtype, [dim]) : undefined);
  return {
    ln1: g.input('ln1', dtype, [H]),
    wq: g.input('wq', dtype, [nH * hd, H]),
    wk: g.input('wk', dtype, [kvH * hd, H]),
    wv: g.input('wv', dtype, [kvH * hd, H]),
    bq: bias('bq', nH * hd),
    bk: bias('bk', kvH * hd),
    bv: bias('bv', kvH * hd),
    qNorm: c.qkNorm ? g.input('q_norm', dtype, [hd]) : undefined,
    kNorm: c.qkNorm ? g.input('k_norm', dtype, [hd]) : undefined,
  };
}

function mlpWeightInputs(g: Graph, spec: LayerGraphSpec) {
  const { config: c, dtype } = spec;
  const { H, hd, nH } = dims(c);
  return {
    wo: g.input('wo', dtype, [H, nH * hd]),
    ln2: g.input('ln2', dtype, [H]),
    gate: g.input('w_gate', dtype, [c.intermediateSize, H]),
    up: g.input('w_up', dtype, [c.intermediateSize, H]),
    down: g.input('w_down', dtype, [H, c.intermediateSize]),
  };
}

/** Pre-norm projections to queries [kvH, T*G, hd] (scaled by 1/sqrt(hd)) and keys [kvH, T, hd]. */
function queriesAndKeys(g: Graph, spec: LayerGraphSpec, w: AttentionWeights, qPre: Value, kPre: Value, cos: Value, sin: Value) {
  const c = spec.config;
  const { hd, kvH, G } = dims(c);
  let [q, k] = [qPre, kPre];
  if (w.qNorm && w.kNorm) {
    q = rmsNorm(g, q, w.qNorm, c.rmsNormEps);
    k = rmsNorm(g, k, w.kNorm, c.rmsNormEps);
  }
  q = g.mul(rope(g, q, cos, sin, hd), g.scalar(1 / Math.sqrt(hd), spec.dtype)); // [T, nH, hd]
  const query = g.reshape(g.transpose(g.reshape(q, [-1, kvH, G * hd], ['T', kvH, G * hd]), [1, 0, 2]), [kvH, -1, hd], [kvH, `T*${G}`, hd]);
  return { query, key: g.transpose(rope(g, k, cos, sin, hd), [1, 0, 2]) };
}

export function buildQkvGraph(spec: LayerGraphSpec, options: { preNorm?: boolean } = {}): Graph {
  const { config: c, dtype } = spec;
  const { H, hd, nH, kvH } = dims(c);
  const g = start(options.preNorm ? 'qkv_pre' : 'qkv', spec);
  const h = g.input('h', dtype, ['T', H]);
  const w = attentionWeightInputs(g, spec);
  const cos = g.input('cos', dtype, ['T', hd]);
  const sin = g.input('sin', dtype, ['T', hd]);
  const normed = rmsNorm(g, h, w.ln1, c.rmsNormEps);
  const qPre = g.reshape(g.gemm(normed, w.wq, w.bq, { transB: true }), [-1, nH, hd], ['T', nH, hd]);
  const kPre = g.reshape(g.gemm(normed, w.wk, w.bk, { transB: true }), [-1, kvH, hd], ['T', kvH, hd]);
  const v = g.reshape(g.gemm(normed, w.wv, w.bv, { transB: true }), [-1, kvH, hd], ['T', kvH, hd]);
  const { query, key } = queriesAndKeys(g, spec, w, qPre, kPre, cos, sin);
  g.output(query, 'query');
  g.output(key, 'key');
  g.output(g.transpose(v, [1, 0, 2]), 'value');
  if (options.preNorm) {
    g.output(qPre, 'q_pre');
    g.output(kPre, 'k_pre');
  }
  return g;
}

/** Inputs of one KV head's attention over a chunk of query rows. */
function attentionInputs(g: Graph, spec: LayerGraphSpec) {
  const { dtype } = spec;
  const { hd } = dims(spec.config);
  return {
    query: g.input('query', dtype, ['R', hd]),
    key: g.input('key', dtype, ['M', hd]),
    value: g.input('value', dtype, ['M', hd]),
    mask: g.input('mask', dtype, ['R', 'M']),
  };
}

export function buildAttentionGraph(spec: LayerGraphSpec): Graph {
  const g = start('attention', spec);
  const { query, key, value, mask } = attentionInputs(g, spec);
  const probs = g.softmax(g.gemm(query, key, mask, { transB: true }), -1); // the mask rides in as Gemm's C
  g.output(g.matmul(probs, value), 'context');
  return g;
}

/** [kvH, T*G, hd] (per KV head, token-major) <-> [T, nH*hd] (the o_proj input's layout). */
function mergeHeads(g: Graph, spec: LayerGraphSpec, context: Value): Value {
  const { hd, nH, kvH, G } = dims(spec.config);
  return g.reshape(g.transpose(g.reshape(context, [kvH, -1, G * hd], [kvH, 'T', G * hd]), [1, 0, 2]), [-1, nH * hd], ['T', nH * hd]);
}

function splitHeads(g: Graph, spec: LayerGraphSpec, merged: Value): Value {
  const { hd, kvH, G } = dims(spec.config);
  return g.reshape(g.transpose(g.reshape(merged, [-1, kvH, G * hd], ['T', kvH, G * hd]), [1, 0, 2]), [kvH, -1, hd], [kvH, `T*${G}`, hd]);
}

/** The MLP block's output (without the residual) on the hidden states after attention. */
function mlp(g: Graph, spec: LayerGraphSpec, hMid: Value, w: ReturnType<typeof mlpWeightInputs>): Value {
  const n = rmsNorm(g, hMid, w.ln2, spec.config.rmsNormEps);
  const gate = g.gemm(n, w.gate, undefined, { transB: true });
  const act = g.mul(g.mul(gate, g.sigmoid(gate)), g.gemm(n, w.up, undefined, { transB: true })); // SiLU(gate) * up
  return g.gemm(act, w.down, undefined, { transB: true });
}

export function buildOMlpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const { H, hd, kvH, G } = dims(c);
  const g = start('o_mlp', spec);
  const h = g.input('h', dtype, ['T', H]);
  const context = g.input('context', dtype, [kvH, `T*${G}`, hd]);
  const w = mlpWeightInputs(g, spec);
  const hMid = g.add(h, g.gemm(mergeHeads(g, spec, context), w.wo, undefined, { transB: true }));
  g.output(hMid, 'h_mid');
  g.output(g.add(hMid, mlp(g, spec, hMid, w)), 'h_out');
  return g;
}

export function buildLmHeadVjpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const g = start('lm_head_vjp', spec);
  const hidden = g.input('hidden', dtype, ['R', c.hiddenSize]);
  const norm = g.input('norm', dtype, [c.hiddenSize]);
  const head = g.input('head', dtype, [c.vocabSize, c.hiddenSize]);
  const targetIds = g.input('target_ids', 'int64', ['R']);
  const logits = g.gemm(rmsNorm(g, hidden, norm, c.rmsNormEps), head, undefined, { transB: true }); // [R, vocab]
  const picked = g.gatherElements(g.logSoftmax(logits, -1), g.unsqueeze(targetIds, [1]), 1);
  const logProb = g.reduceSum(picked, [0, 1], false);
  g.output(logProb, 'log_prob');
  g.output(differentiate(g, logProb, [hidden])[0], 'd_hidden');
  return g;
}

export function buildMlpVjpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const g = start('mlp_vjp', spec);
  const hMid = g.input('h_mid', dtype, ['T', c.hiddenSize]);
  const dhOut = g.input('dh_out', dtype, ['T', c.hiddenSize]);
  const w = mlpWeightInputs(g, spec);
  const dhMid = g.add(dhOut, vjp(g, [[mlp(g, spec, hMid, w), dhOut]], [hMid])[0]);
  g.output(dhMid, 'dh_mid');
  // merged @ wo^T was the attention block's output, so d merged = d @ wo.
  g.output(splitHeads(g, spec, g.gemm(dhMid, w.wo)), 'd_context');
  return g;
}

export function buildAttentionVjpGraph(spec: LayerGraphSpec): Graph {
  const g = start('attention_vjp', spec);
  const { query, key, value, mask } = attentionInputs(g, spec);
  const dContext = g.input('d_context', spec.dtype, ['R', spec.config.headDim]);
  const pastRows = g.input('past_rows', 'int64', [1]);
  const probs = g.softmax(g.gemm(query, key, mask, { transB: true }), -1); // [R, M]
  // Softmax backward with the row sums taken on [R, hd] (sum_j P dP = sum_d O dO) rather than on [R, M].
  const rowSums = g.reduceSum(g.mul(g.matmul(probs, value), dContext), [-1], true);
  const dScores = g.mul(probs, g.sub(g.gemm(dContext, value, undefined, { transB: true }), rowSums));
  g.output(g.matmul(dScores, key), 'd_query');
  const fromPast = (x: Value) => g.node('Slice', [x, pastRows, g.int64s([Number.MAX_SAFE_INTEGER]), g.int64s([1])], {}, [{ dtype: x.dtype, shape: ['R', 'M-P'] }])[0];
  g.output(g.gemm(fromPast(dScores), query, undefined, { transA: true }), 'd_key');
  g.output(g.gemm(fromPast(probs), dContext, undefined, { transA: true }), 'd_value');
  return g;
}

export function buildQkvVjpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const { H, hd, nH, kvH, G } = dims(c);
  const g = start('qkv_vjp', spec);
  const hIn = g.input('h_in', dtype, ['T', H]);
  const w = attentionWeightInputs(g, spec);
  const cos = g.input('cos', dtype, ['T', hd]);
  const sin = g.input('sin', dtype, ['T', hd]);
  const qPre = g.input('q_pre', dtype, ['T', nH, hd]);
  const kPre = g.input('k_pre', dtype, ['T', kvH, hd]);
  const dQuery = g.input('d_query', dtype, [kvH, `T*${G}`, hd]);
  const dKey = g.input('d_key', dtype, [kvH, 'T', hd]);
  const dValue = g.input('d_value', dtype, [kvH, 'T', hd]);
  const dhMid = g.input('dh_mid', dtype, ['T', H]);
  const { query, key } = queriesAndKeys(g, spec, w, qPre, kPre, cos, sin);
  const [dqPre, dkPre] = vjp(g, [[query, dQuery], [key, dKey]], [qPre, kPre]);
  const flat = (x: Value, width: number) => g.reshape(x, [-1, width], ['T', width]);
  // The projections are linear: their input gradient is the output gradient times the weight.
  const dNormed = g.add(
    g.add(g.gemm(flat(dqPre, nH * hd), w.wq), g.gemm(flat(dkPre, kvH * hd), w.wk)),
    g.gemm(flat(g.transpose(dValue, [1, 0, 2]), kvH * hd), w.wv),
  );
  g.output(g.add(dhMid, vjp(g, [[rmsNorm(g, hIn, w.ln1, c.rmsNormEps), dNormed]], [hIn])[0]), 'dh_in');
  return g;
}
