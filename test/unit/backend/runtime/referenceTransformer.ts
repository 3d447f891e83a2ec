/**
 * Test-only reference: a direct float64 transcription of transformers' Llama/Qwen2/Qwen3/Mistral forward pass
 * (loops over positions and heads, repeat_kv-style GQA, rotate-half RoPE with default frequencies), written
 * independently of the ONNX graph builder so that the graphs can be checked against it.
 */
import type { ModelConfig } from '../../../../src/backend/model/config';
import { readTensorF64, readTensorIndex } from '../../../../src/backend/model/safetensors';

type Vec = Float64Array;

export function referenceLogits(dir: string, config: ModelConfig, ids: number[]): Vec[] {
  const index = readTensorIndex(dir);
  const W = (name: string) => readTensorF64(dir, index.get(name)!);
  const { hiddenSize: H, headDim: hd, numHeads: nH, numKvHeads: kvH, rmsNormEps: eps } = config;
  const linear = (x: Vec, w: Vec, out: number, bias?: Vec): Vec => {
    const inDim = x.length;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += w[o * inDim + i] * x[i];
      y[o] = s;
    }
    return y;
  };
  const rms = (x: Vec, w: Vec): Vec => {
    const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]);
  };
  const rope = (x: Vec, pos: number): Vec => {
    const half = hd / 2;
    const out = new Float64Array(hd);
    for (let i = 0; i < half; i++) {
      const angle = pos / Math.pow(config.ropeTheta, (2 * i) / hd);
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      out[i] = x[i] * c - x[i + half] * s;
      out[i + half] = x[i + half] * c + x[i] * s;
    }
    return out;
  };
  const heads = (x: Vec, n: number) => Array.from({ length: n }, (_, h) => x.slice(h * hd, (h + 1) * hd));
  const embed = W('model.embed_tokens.weight');
  let xs: Vec[] = ids.map((id) => embed.slice(id * H, (id + 1) * H));
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const bias = (n: string) => (config.attentionBias ? W(`${p}.self_attn.${n}.bias`) : undefined);
    const [wq, wk, wv, wo] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((n) => W(`${p}.self_attn.${n}.weight`));
    const qNorm = config.qkNorm ? W(`${p}.self_attn.q_norm.weight`) : undefined;
    const kNorm = config.qkNorm ? W(`${p}.self_attn.k_norm.weight`) : undefined;
    const normed = xs.map((x) => rms(x, W(`${p}.input_layernorm.weight`)));
    const qs = normed.map((x, t) => heads(linear(x, wq, nH * hd, bias('q_proj')), nH).map((q) => rope(qNorm ? rms(q, qNorm) : q, t)));
    const ks = normed.map((x, t) => heads(linear(x, wk, kvH * hd, bias('k_proj')), kvH).map((k) => rope(kNorm ? rms(k, kNorm) : k, t)));
    const vs = normed.map((x) => heads(linear(x, wv, kvH * hd, bias('v_proj')), kvH));
    xs = xs.map((x, t) => {
      const merged = new Float64Array(nH * hd);
      for (let h = 0; h < nH; h++) {
        const kv = Math.floor(h / (nH / kvH)); // repeat_kv
        const scores = Array.from({ length: t + 1 }, (_, j) => qs[t][h].reduce((s, q, d) => s + q * ks[j][kv][d], 0) / Math.sqrt(hd));
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) for (let d = 0; d < hd; d++) merged[h * hd + d] += (e[j] / z) * vs[j][kv][d];
      }
      const attn = linear(merged, wo, H);
      const h1 = x.map((v, i) => v + attn[i]);
      const n2 = rms(h1, W(`${p}.post_attention_layernorm.weight`));
      const gate = linear(n2, W(`${p}.mlp.gate_proj.weight`), config.intermediateSize);
      const up = linear(n2, W(`${p}.mlp.up_proj.weight`), config.intermediateSize);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = linear(act, W(`${p}.mlp.down_proj.weight`), H);
      return h1.map((v, i) => v + down[i]);
    });
  }
  const head = config.tieWordEmbeddings ? embed : W('lm_head.weight');
  return xs.map((x) => linear(rms(x, W('model.norm.weight')), head, config.vocabSize));
}
