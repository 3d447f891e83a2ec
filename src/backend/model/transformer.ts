/**
 * ONNX graphs of a decoder-only transformer (llama, qwen2, qwen3, mistral) built from a ModelConfig and the
 * safetensors tensor index; the weights stay in the safetensors files (external initializers).
 *
 * Batch size is 1 and hidden states are 2-D [T, hidden], so every linear layer is one Gemm with transB (weights are
 * [out, in]) and its input gradient is a plain Gemm with the same weight — no transposed weight copies.
 *
 * Graph inputs (both graphs):
 *   ids [T] int64; past_key_{l}, past_value_{l} [kvHeads, P, headDim]; cos, sin [T, headDim] (rope rows of the
 *   T positions); mask [G*T, P+T] with G = heads per KV head: row g*T + t is query t's additive mask (0 where
 *   visible, a large negative number where not), repeated for each of the G query heads sharing a KV head.
 * Forward graph outputs: logits [1, vocab] (last position) or [T, vocab] (allLogits); present_key_{l}/present_value_{l}.
 * Gradient graph extra inputs: target_rows [R] (tail rows that predict targets), target_ids [R].
 * Gradient graph outputs: log_prob (scalar S = sum log p(target_ids)), l1 [T] = sum_d |dS/de|, grad_input [T] =
 *   sum_d dS/de * e, and with saliencyL2 also grad_l2 [T] = ||dS/de||_2.
 * float16 graphs keep norms, log-softmax, logits and the saliency reductions in float32.
 */
import { differentiate, Graph, type DType, type Value } from '../onnx';
import { ModelError } from '../errors';
import type { ModelConfig } from './config';
import type { TensorInfo } from './safetensors';

export type ComputeDtype = 'float32' | 'float16' | 'float64';

export interface TransformerSpec {
  config: ModelConfig;
  /** From readTensorIndex(dir): where each weight lies in the model folder. */
  tensors: Map<string, TensorInfo>;
  /** Compute precision: float32 on CPU, float16 on GPU, float64 for tests. */
  dtype: ComputeDtype;
}

/** Additive mask value for positions a query must not see. */
export function maskValue(dtype: ComputeDtype): number {
  return dtype === 'float16' ? -65504 : -1e9;
}

const STORAGE_DTYPE: Record<string, DType | undefined> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

/** The index entry of a weight, checked against the shape config.json implies and for a floating-point dtype. */
export function checkedTensor(tensors: Map<string, TensorInfo>, name: string, shape: number[]): TensorInfo {
  const info = tensors.get(name);
  if (!info) throw new ModelError(`tensor "${name}" is missing from the model's safetensors files`);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
    throw new ModelError(`tensor "${name}" in ${info.file} has shape [${info.shape}], but config.json implies [${shape}]`);
  if (!STORAGE_DTYPE[info.dtype]) throw new ModelError(`tensor "${name}" in ${info.file} has dtype ${info.dtype}; expected F32, F16, BF16 or F64`);
  return info;
}

/** Declares weights as external initializers, checking names and shapes against the config. */
class Weights {
  constructor(
    private readonly g: Graph,
    private readonly spec: TransformerSpec,
  ) {}

  has(name: string): boolean {
    return this.spec.tensors.has(name);
  }

  get(name: string, shape: number[]): Value {
    const info = checkedTensor(this.spec.tensors, name, shape);
    const stored = STORAGE_DTYPE[info.dtype]!;
    const v = this.g.external(name, stored, shape, { location: info.file, offset: info.offset, length: info.length });
    // bfloat16 has no CPU MatMul kernel (and float16 is slow on CPU): compute in the chosen dtype.
    return this.g.cast(v, this.spec.dtype);
  }
}

interface GraphInputs {
  g: Graph;
  w: Weights;
  ids: Value;
  past: Array<{ key: Value; value: Value }>;
  cos: Value;
  sin: Value;
  mask: Value;
}

/** What every graph builder here assumes of the configuration. */
export function checkArchitecture(c: ModelConfig): void {
  if (!['llama', 'qwen2', 'qwen3', 'mistral'].includes(c.modelType)) throw new ModelError(`config.json: model_type "${c.modelType}" is not supported`);
  if (c.headDim % 2 !== 0) throw new ModelError(`config.json: head_dim ${c.headDim} must be even for rotary embeddings`);
  if (c.numHeads % c.numKvHeads !== 0)
    throw new ModelError(`config.json: num_attention_heads ${c.numHeads} is not a multiple of num_key_value_heads ${c.numKvHeads}`);
}

function declareInputs(name: string, spec: TransformerSpec): GraphInputs {
  const { config: c, dtype } = spec;
  checkArchitecture(c);
  const g = new Graph(name);
  const ids = g.input('ids', 'int64', ['T']);
  const past = Array.from({ length: c.numLayers }, (_, l) => ({
    key: g.input(`past_key_${l}`, dtype, [c.numKvHeads, 'P', c.headDim]),
    value: g.input(`past_value_${l}`, dtype, [c.numKvHeads, 'P', c.headDim]),
  }));
  const cos = g.input('cos', dtype, ['T', c.headDim]);
  const sin = g.input('sin', dtype, ['T', c.headDim]);
  const mask = g.input('mask', dtype, [`${c.numHeads / c.numKvHeads}*T`, 'P+T']);
  return { g, w: new Weights(g, spec), ids, past, cos, sin, mask };
}

/** float16 values widened to float32 where precision matters (norms, log-softmax, reductions); others unchanged. */
export function widen(g: Graph, x: Value): Value {
  return x.dtype === 'float16' ? g.cast(x, 'float32') : x;
}

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight (in float32 for float16 graphs, as transformers does). */
export function rmsNorm(g: Graph, x: Value, weight: Value, eps: number): Value {
  const wide = widen(g, x);
  const variance = g.reduceMean(g.mul(wide, wide), [-1], true);
  const inv = g.reciprocal(g.sqrt(g.add(variance, g.scalar(eps, wide.dtype))));
  return g.mul(g.cast(g.mul(wide, inv), x.dtype), weight);
}

/** x * cos + rotate_half(x) * sin for x [T, heads, headDim]; cos/sin [T, headDim]. */
export function rope(g: Graph, x: Value, cos: Value, sin: Value, headDim: number): Value {
  const half = headDim / 2;
  const first = g.slice(x, [0], [half], [-1]);
  const second = g.slice(x, [half], [headDim], [-1]);
  const rotated = g.concat([g.neg(second), first], -1);
  return g.add(g.mul(x, g.unsqueeze(cos, [1])), g.mul(rotated, g.unsqueeze(sin, [1])));
}

/** A weight's Hugging Face name and the shape config.json implies. */
export type TensorSpec = [name: string, shape: number[]];

/**
 * The weights of decoder layer l, by role, as the model folder names them: one table for every reader (the graphs
 * here, ../runtime/layeredAttribution.ts). Biases and q/k norms only where the configuration has them.
 */
export function layerTensors(c: ModelConfig, l: number) {
  const p = `model.layers.${l}`;
  const [H, hd, q, kv, I] = [c.hiddenSize, c.headDim, c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.intermediateSize];
  const spec = (name: string, shape: number[]): TensorSpec => [`${p}.${name}`, shape];
  return {
    ln1: spec('input_layernorm.weight', [H]),
    wq: spec('self_attn.q_proj.weight', [q, H]),
    wk: spec('self_attn.k_proj.weight', [kv, H]),
    wv: spec('self_attn.v_proj.weight', [kv, H]),
    wo: spec('self_attn.o_proj.weight', [H, q]),
    ln2: spec('post_attention_layernorm.weight', [H]),
    gate: spec('mlp.gate_proj.weight', [I, H]),
    up: spec('mlp.up_proj.weight', [I, H]),
    down: spec('mlp.down_proj.weight', [H, I]),
    bq: c.attentionBias ? spec('self_attn.q_proj.bias', [q]) : undefined,
    bk: c.attentionBias ? spec('self_attn.k_proj.bias', [kv]) : undefined,
    bv: c.attentionBias ? spec('self_attn.v_proj.bias', [kv]) : undefined,
    qNorm: c.qkNorm ? spec('self_attn.q_norm.weight', [hd]) : undefined,
    kNorm: c.qkNorm ? spec('self_attn.k_norm.weight', [hd]) : undefined,
  };
}

function linear(g: Graph, w: Weights, x: Value, weight: TensorSpec, bias?: TensorSpec): Value {
  return g.gemm(x, w.get(...weight), bias && w.get(...bias), { transB: true });
}

/** Rows of x (float16 rows are gathered in float32: ORT has no float16 ScatterND-add, which the gather's gradient uses). */
function gatherRows(g: Graph, x: Value, rows: Value): Value {
  return x.dtype === 'float16' ? g.cast(g.gather(g.cast(x, 'float32'), rows, 0), 'float16') : g.gather(x, rows, 0);
}

/** The mask rows of the queries at `rows` ([R] positions of the tail), in the grouped order g*R + r: rows g*T + rows[r]. */
function maskRows(inp: GraphInputs, rows: Value, groups: number): Value {
  const { g, ids, mask } = inp;
  const groupStarts = g.mul(g.constant('int64', [groups, 1], Array.from({ length: groups }, (_, k) => k)), g.shapeOf(ids)); // [G, 1]: g*T
  const index = g.reshape(g.add(groupStarts, g.unsqueeze(rows, [0])), [-1], [`${groups}*R`]);
  return g.gather(mask, index, 0);
}

/**
 * The decoder stack on embeddings x [T, hidden]; returns the final hidden states (before the last norm) of
 * `outputRows` ([R] int64 positions; all T rows when not given) and the KV cache.
 *
 * Only some rows' final states are ever used (the last row's logits when prefilling or caching a prefix, the target
 * rows' in the gradient graph), and the last layer's output at a row depends on the other rows only through their
 * keys and values. So the last layer computes keys and values for all T rows, but queries, attention, o_proj and the
 * MLP for the output rows alone: in a 6-layer model that is most of a sixth of the work skipped, forward and backward.
 */
function decoder(
  inp: GraphInputs,
  spec: TransformerSpec,
  x: Value,
  mode: 'forward' | 'gradient',
  outputRows?: Value,
): { hidden: Value; presents: Array<{ key: Value; value: Value }> } {
  const { g, w, past, cos, sin, mask } = inp;
  const c = spec.config;
  const [hd, nH, kvH] = [c.headDim, c.numHeads, c.numKvHeads];
  const groups = nH / kvH;
  const presents: Array<{ key: Value; value: Value }> = [];
  let h = x;
  for (let l = 0; l < c.numLayers; l++) {
    const t = layerTensors(c, l);
    const rows = l === c.numLayers - 1 ? outputRows : undefined; // the query rows: all T, or R in the last layer
    const queryDim = rows ? 'R' : 'T';
    const normed = rmsNorm(g, h, w.get(...t.ln1), c.rmsNormEps);
    const queryIn = rows ? gatherRows(g, normed, rows) : normed;
    let q = g.reshape(linear(g, w, queryIn, t.wq, t.bq), [-1, nH, hd], [queryDim, nH, hd]);
    let k = g.reshape(linear(g, w, normed, t.wk, t.bk), [-1, kvH, hd], ['T', kvH, hd]);
    const v = g.reshape(linear(g, w, normed, t.wv, t.bv), [-1, kvH, hd], ['T', kvH, hd]);
    if (t.qNorm && t.kNorm) {
      q = rmsNorm(g, q, w.get(...t.qNorm), c.rmsNormEps);
      k = rmsNorm(g, k, w.get(...t.kNorm), c.rmsNormEps);
    }
    q = rows ? rope(g, q, g.gather(cos, rows, 0), g.gather(sin, rows, 0), hd) : rope(g, q, cos, sin, hd);
    k = rope(g, k, cos, sin, hd);
    const newKey = g.transpose(k, [1, 0, 2]); // [kvH, T, hd]
    const newValue = g.transpose(v, [1, 0, 2]);
    // GQA without repeating K/V: the query heads sharing a KV head are stacked into one matrix per KV head.
    // Query head n uses KV head floor(n / groups), as transformers' repeat_kv does.
    const scaledQ = g.mul(q, g.scalar(1 / Math.sqrt(hd), q.dtype));
    const qGrouped = g.reshape(g.transpose(g.reshape(scaledQ, [-1, kvH, groups, hd], [queryDim, kvH, groups, hd]), [1, 2, 0, 3]), [kvH, -1, hd], [kvH, `${groups}*${queryDim}`, hd]);
    const key = g.concat([past[l].key, newKey], 1); // [kvH, P+T, hd]
    const value = g.concat([past[l].value, newValue], 1);
    let scores: Value; // [kvH, G*Q, P+T], Q = queryDim
    if (mode === 'forward') {
      presents.push({ key, value });
      scores = g.matmul(qGrouped, g.transpose(key, [0, 2, 1]));
    } else {
      // Scores against the cached and the new keys are multiplied separately, so that the backward pass computes
      // key gradients only for the T new positions (the P cached keys are constants): a concatenation copy of the
      // scores instead of P wasted rows of dS/dkey.
      const scoresPast = g.matmul(qGrouped, g.transpose(past[l].key, [0, 2, 1])); // [kvH, G*Q, P]
      const scoresNew = g.matmul(qGrouped, g.transpose(newKey, [0, 2, 1])); // [kvH, G*Q, T]
      scores = g.concat([scoresPast, scoresNew], -1);
    }
    // One probability matrix, multiplied by all values at once: splitting it (to skip the value gradient of the
    // cached rows) would keep two more [G*T, P+T] copies per layer alive for the backward pass.
    const probs = g.softmax(g.add(scores, rows ? maskRows(inp, rows, groups) : mask), -1);
    const context = g.matmul(probs, value); // [kvH, G*Q, hd]
    const merged = g.reshape(g.transpose(g.reshape(context, [kvH, groups, -1, hd], [kvH, groups, queryDim, hd]), [2, 0, 1, 3]), [-1, nH * hd], [queryDim, nH * hd]);
    h = g.add(rows ? gatherRows(g, h, rows) : h, linear(g, w, merged, t.wo));

    const normed2 = rmsNorm(g, h, w.get(...t.ln2), c.rmsNormEps);
    const gate = linear(g, w, normed2, t.gate);
    const up = linear(g, w, normed2, t.up);
    const act = g.mul(g.mul(gate, g.sigmoid(gate)), up); // SiLU(gate) * up
    h = g.add(h, linear(g, w, act, t.down));
  }
  return { hidden: h, presents };
}

/** Final norm and LM head, on the rows given (applying the head only where logits are needed). */
function lmHead(inp: GraphInputs, spec: TransformerSpec, rows: Value, embed: Value): Value {
  const { g, w } = inp;
  const c = spec.config;
  const normed = rmsNorm(g, rows, w.get('model.norm.weight', [c.hiddenSize]), c.rmsNormEps);
  if (!c.tieWordEmbeddings && !w.has('lm_head.weight')) throw new ModelError('tensor "lm_head.weight" is missing (config.json says tie_word_embeddings is false)');
  const head = c.tieWordEmbeddings ? embed : w.get('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return g.gemm(normed, head, undefined, { transB: true });
}

/**
 * Prefill / decoding graph with KV cache. allLogits: logits of every position; inputEmbeds: an `embeds` input
 * [T, hidden] replaces the embedding lookup of `ids` (which stays an input, for its length) — for finite-difference
 * tests of the gradient graph.
 */
export function buildForwardGraph(spec: TransformerSpec, options: { allLogits?: boolean; inputEmbeds?: boolean } = {}): Graph {
  const inp = declareInputs('forward', spec);
  const { g, w } = inp;
  const c = spec.config;
  const embed = w.get('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  const x = options.inputEmbeds ? g.input('embeds', spec.dtype, ['T', c.hiddenSize]) : g.gather(embed, inp.ids, 0);
  const lastRow = options.allLogits ? undefined : g.sub(g.shapeOf(inp.ids), g.int64s([1])); // [1]: T-1
  const { hidden, presents } = decoder(inp, spec, x, 'forward', lastRow);
  g.output(widen(g, lmHead(inp, spec, hidden, embed)), 'logits');
  presents.forEach(({ key, value }, l) => {
    g.output(key, `present_key_${l}`);
    g.output(value, `present_value_${l}`);
  });
  return g;
}

/** S = sum log p(targets) over the tail and its gradient w.r.t. the tail's input embeddings, reduced per token. */
export function buildGradientGraph(spec: TransformerSpec, options: { saliencyL2?: boolean } = {}): Graph {
  const inp = declareInputs('gradient', spec);
  const { g, w } = inp;
  const c = spec.config;
  const targetRows = g.input('target_rows', 'int64', ['R']);
  const targetIds = g.input('target_ids', 'int64', ['R']);
  const embed = w.get('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  const e = g.gather(embed, inp.ids, 0); // [T, hidden]: what S is differentiated against
  const { hidden } = decoder(inp, spec, e, 'gradient', targetRows); // [R, hidden]
  const logits = lmHead(inp, spec, hidden, embed); // [R, vocab]
  const picked = g.gatherElements(g.logSoftmax(widen(g, logits), -1), g.unsqueeze(targetIds, [1]), 1); // [R, 1]
  const logProb = g.reduceSum(picked, [0, 1], false);
  const [grad] = differentiate(g, logProb, [e]);
  // Reduced inside the graph: only [T] values leave ORT, never the [T, hidden] gradient.
  const [wideGrad, wideE] = [widen(g, grad), widen(g, e)];
  g.output(logProb, 'log_prob');
  g.output(g.reduceSum(g.abs(wideGrad), [1], false), 'l1');
  g.output(g.reduceSum(g.mul(wideGrad, wideE), [1], false), 'grad_input');
  if (options.saliencyL2) g.output(g.sqrt(g.reduceSum(g.mul(wideGrad, wideGrad), [1], false)), 'grad_l2');
  return g;
}
