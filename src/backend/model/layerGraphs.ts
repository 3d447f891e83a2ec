/**
 * Graphs of one decoder layer, for layered attribution (../runtime/layeredAttribution.ts). The weights are graph
 * inputs rather than initializers, so one session of each graph serves every layer, and ONNX Runtime only ever holds
 * one layer's working set instead of the whole model's activations (the reason ./transformer.ts's whole-model
 * gradient graph needs 13 GiB for a 0.6B model and these need a few).
 *
 * Notation as in ./transformer.ts: H hidden, T rows (tokens) of a run, P cached rows before them, G query heads per
 * KV head, hd head dim. Hidden states [T, H]; keys and values [kvHeads, P, hd]; masks [G*T, P+T].
 *
 *   layer_forward  h, past_key, past_value, cos, sin, mask, layer weights -> h_out, h_mid (after attention),
 *                  present_key, present_value (past and new rows)
 *   lm_head_vjp    hidden [R, H], norm, head [V, H], target_ids [R] -> log_prob = sum log p(targets), d_hidden
 *   mlp_vjp        h_in, h_mid, dh_out, ln1, ln2, o/gate/up/down -> normed = ln1(h_in), dh_mid, d_context
 *                  [kvHeads, G*T, hd] (the gradient at each KV head's attention output)
 *   attention_vjp  one KV head: normed, that head's q/k/v weight rows (and biases, q/k norms), cos, sin,
 *                  past_key/past_value [1, P, hd], mask, d_context [1, G*T, hd], d_normed -> d_normed plus this head's
 *                  share of the gradient at normed
 *   norm_vjp       h_in, ln1, d_normed, dh_mid -> dh_in
 *
 * The backward graphs recompute what they need from each layer's stored inputs (activation checkpointing) and return
 * vector-Jacobian products, built by ../onnx's differentiate on S' = sum(y * dy). Attention is split per KV head in the
 * backward pass so that its score matrices ([G*T, P+T] per head) stay small.
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

/** Sum of every element: the scalar whose gradient is a vector-Jacobian product. */
function sumAll(g: Graph, x: Value): Value {
  return g.reduceSum(x, x.shape.map((_, i) => i), false);
}

/** S' = sum_k sum(y_k * dy_k); its gradient w.r.t. x is sum_k J_k^T dy_k. */
function vjp(g: Graph, pairs: Array<[Value, Value]>, wrt: Value): Value {
  const terms = pairs.map(([y, dy]) => sumAll(g, g.mul(y, dy)));
  return differentiate(g, terms.reduce((a, b) => g.add(a, b)), [wrt])[0];
}

interface AttentionWeights {
  wq: Value;
  wk: Value;
  wv: Value;
  bq?: Value;
  bk?: Value;
  bv?: Value;
  qNorm?: Value;
  kNorm?: Value;
}

/** The q/k/v projection weights of `kvHeads` KV heads (and their G query heads each) as graph inputs. */
function attentionWeightInputs(g: Graph, spec: LayerGraphSpec, kvHeads: number): AttentionWeights {
  const { config: c, dtype } = spec;
  const groups = c.numHeads / c.numKvHeads;
  const [qDim, kvDim] = [kvHeads * groups * c.headDim, kvHeads * c.headDim];
  const bias = (name: string, dim: number) => (c.attentionBias ? g.input(name, dtype, [dim]) : undefined);
  return {
    wq: g.input('wq', dtype, [qDim, c.hiddenSize]),
    wk: g.input('wk', dtype, [kvDim, c.hiddenSize]),
    wv: g.input('wv', dtype, [kvDim, c.hiddenSize]),
    bq: bias('bq', qDim),
    bk: bias('bk', kvDim),
    bv: bias('bv', kvDim),
    qNorm: c.qkNorm ? g.input('q_norm', dtype, [c.headDim]) : undefined,
    kNorm: c.qkNorm ? g.input('k_norm', dtype, [c.headDim]) : undefined,
  };
}

/**
 * Queries (scaled, grouped per KV head: [kvHeads, G*T, hd], row k*T + t is query head k of the group at token t),
 * keys and values ([kvHeads, T, hd]) of the normed hidden states, with q/k norms and rotary embeddings applied.
 */
function projectQkv(g: Graph, spec: LayerGraphSpec, w: AttentionWeights, normed: Value, cos: Value, sin: Value, kvHeads: number) {
  const c = spec.config;
  const [hd, groups] = [c.headDim, c.numHeads / c.numKvHeads];
  let q = g.reshape(g.gemm(normed, w.wq, w.bq, { transB: true }), [-1, kvHeads * groups, hd], ['T', kvHeads * groups, hd]);
  let k = g.reshape(g.gemm(normed, w.wk, w.bk, { transB: true }), [-1, kvHeads, hd], ['T', kvHeads, hd]);
  const v = g.reshape(g.gemm(normed, w.wv, w.bv, { transB: true }), [-1, kvHeads, hd], ['T', kvHeads, hd]);
  if (w.qNorm && w.kNorm) {
    q = rmsNorm(g, q, w.qNorm, c.rmsNormEps);
    k = rmsNorm(g, k, w.kNorm, c.rmsNormEps);
  }
  q = g.mul(rope(g, q, cos, sin, hd), g.scalar(1 / Math.sqrt(hd), spec.dtype));
  k = rope(g, k, cos, sin, hd);
  const query = g.reshape(g.transpose(g.reshape(q, [-1, kvHeads, groups, hd], ['T', kvHeads, groups, hd]), [1, 2, 0, 3]), [kvHeads, -1, hd], [kvHeads, `${groups}*T`, hd]);
  return { query, key: g.transpose(k, [1, 0, 2]), value: g.transpose(v, [1, 0, 2]) };
}

/** The MLP block's output (without the residual) on the hidden states after attention. */
function mlp(g: Graph, spec: LayerGraphSpec, hMid: Value, ln2: Value, gate: Value, up: Value, down: Value): Value {
  const n = rmsNorm(g, hMid, ln2, spec.config.rmsNormEps);
  const gated = g.gemm(n, gate, undefined, { transB: true });
  const act = g.mul(g.mul(gated, g.sigmoid(gated)), g.gemm(n, up, undefined, { transB: true })); // SiLU(gate) * up
  return g.gemm(act, down, undefined, { transB: true });
}

function mlpWeightInputs(g: Graph, spec: LayerGraphSpec) {
  const { config: c, dtype } = spec;
  return {
    ln2: g.input('ln2', dtype, [c.hiddenSize]),
    wo: g.input('wo', dtype, [c.hiddenSize, c.numHeads * c.headDim]),
    gate: g.input('w_gate', dtype, [c.intermediateSize, c.hiddenSize]),
    up: g.input('w_up', dtype, [c.intermediateSize, c.hiddenSize]),
    down: g.input('w_down', dtype, [c.hiddenSize, c.intermediateSize]),
  };
}

function start(name: string, spec: LayerGraphSpec): Graph {
  checkArchitecture(spec.config);
  return new Graph(name);
}

export function buildLayerForwardGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const [H, hd, kvH, groups] = [c.hiddenSize, c.headDim, c.numKvHeads, c.numHeads / c.numKvHeads];
  const g = start('layer_forward', spec);
  const h = g.input('h', dtype, ['T', H]);
  const pastKey = g.input('past_key', dtype, [kvH, 'P', hd]);
  const pastValue = g.input('past_value', dtype, [kvH, 'P', hd]);
  const cos = g.input('cos', dtype, ['T', hd]);
  const sin = g.input('sin', dtype, ['T', hd]);
  const mask = g.input('mask', dtype, [`${groups}*T`, 'P+T']);
  const ln1 = g.input('ln1', dtype, [H]);
  const aw = attentionWeightInputs(g, spec, kvH);
  const mw = mlpWeightInputs(g, spec);

  const { query, key: newKey, value: newValue } = projectQkv(g, spec, aw, rmsNorm(g, h, ln1, c.rmsNormEps), cos, sin, kvH);
  const key = g.concat([pastKey, newKey], 1); // [kvH, P+T, hd]
  const value = g.concat([pastValue, newValue], 1);
  const probs = g.softmax(g.add(g.matmul(query, g.transpose(key, [0, 2, 1])), mask), -1);
  const context = g.matmul(probs, value); // [kvH, G*T, hd]
  const merged = g.reshape(g.transpose(g.reshape(context, [kvH, groups, -1, hd], [kvH, groups, 'T', hd]), [2, 0, 1, 3]), [-1, c.numHeads * hd], ['T', c.numHeads * hd]);
  const hMid = g.add(h, g.gemm(merged, mw.wo, undefined, { transB: true }));
  g.output(g.add(hMid, mlp(g, spec, hMid, mw.ln2, mw.gate, mw.up, mw.down)), 'h_out');
  g.output(hMid, 'h_mid');
  g.output(key, 'present_key');
  g.output(value, 'present_value');
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
  const [H, hd, kvH, groups] = [c.hiddenSize, c.headDim, c.numKvHeads, c.numHeads / c.numKvHeads];
  const g = start('mlp_vjp', spec);
  const hIn = g.input('h_in', dtype, ['T', H]);
  const hMid = g.input('h_mid', dtype, ['T', H]);
  const dhOut = g.input('dh_out', dtype, ['T', H]);
  const ln1 = g.input('ln1', dtype, [H]);
  const mw = mlpWeightInputs(g, spec);
  g.output(rmsNorm(g, hIn, ln1, c.rmsNormEps), 'normed');
  const dhMid = g.add(dhOut, vjp(g, [[mlp(g, spec, hMid, mw.ln2, mw.gate, mw.up, mw.down), dhOut]], hMid));
  g.output(dhMid, 'dh_mid');
  const dMerged = g.gemm(dhMid, mw.wo); // merged @ wo^T was the attention output, so d merged = d @ wo
  g.output(g.reshape(g.transpose(g.reshape(dMerged, [-1, kvH, groups, hd], ['T', kvH, groups, hd]), [1, 2, 0, 3]), [kvH, -1, hd], [kvH, `${groups}*T`, hd]), 'd_context');
  return g;
}

export function buildAttentionVjpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const [H, hd, groups] = [c.hiddenSize, c.headDim, c.numHeads / c.numKvHeads];
  const g = start('attention_vjp', spec);
  const normed = g.input('normed', dtype, ['T', H]);
  const aw = attentionWeightInputs(g, spec, 1);
  const cos = g.input('cos', dtype, ['T', hd]);
  const sin = g.input('sin', dtype, ['T', hd]);
  const pastKey = g.input('past_key', dtype, [1, 'P', hd]);
  const pastValue = g.input('past_value', dtype, [1, 'P', hd]);
  const mask = g.input('mask', dtype, [`${groups}*T`, 'P+T']);
  const dContext = g.input('d_context', dtype, [1, `${groups}*T`, hd]);
  const dNormed = g.input('d_normed', dtype, ['T', H]);

  const { query, key, value } = projectQkv(g, spec, aw, normed, cos, sin, 1);
  // Scores and probabilities against the cached and the new rows are kept apart, so that the backward pass computes
  // key and value gradients for the T new rows only (the P cached ones are constants).
  const scores = g.concat([g.matmul(query, g.transpose(pastKey, [0, 2, 1])), g.matmul(query, g.transpose(key, [0, 2, 1]))], -1);
  const probs = g.softmax(g.add(scores, mask), -1);
  const rowsOf = (x: Value) => g.slice(g.shapeOf(x), [1], [2], [0]);
  const [probsPast, probsNew] = g.split(probs, g.concat([rowsOf(pastKey), rowsOf(key)], 0), -1, [
    [1, `${groups}*T`, 'P'],
    [1, `${groups}*T`, 'T'],
  ]);
  const context = g.add(g.matmul(probsPast, pastValue), g.matmul(probsNew, value)); // [1, G*T, hd]
  g.output(g.add(dNormed, vjp(g, [[context, dContext]], normed)), 'd_normed_out');
  return g;
}

export function buildNormVjpGraph(spec: LayerGraphSpec): Graph {
  const { config: c, dtype } = spec;
  const g = start('norm_vjp', spec);
  const hIn = g.input('h_in', dtype, ['T', c.hiddenSize]);
  const ln1 = g.input('ln1', dtype, [c.hiddenSize]);
  const dNormed = g.input('d_normed', dtype, ['T', c.hiddenSize]);
  const dhMid = g.input('dh_mid', dtype, ['T', c.hiddenSize]);
  g.output(g.add(dhMid, vjp(g, [[rmsNorm(g, hIn, ln1, c.rmsNormEps), dNormed]], hIn)), 'dh_in');
  return g;
}
