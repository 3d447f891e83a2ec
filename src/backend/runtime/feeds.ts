/**
 * ORT input tensors for the transformer graphs (../model/transformer.ts): rope tables, attention mask, KV cache.
 */
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../model/config';
import { ropeTables } from '../model/rope';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../model/safetensors';
import { maskValue, type ComputeDtype } from '../model/transformer';

/** A float tensor in the compute dtype (float16 is passed to ORT as its bit patterns). */
export function floatTensor(dtype: ComputeDtype, data: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (dtype === 'float64') return new ort.Tensor('float64', Float64Array.from(data), dims);
  if (dtype === 'float16') return new ort.Tensor('float16', float32ToFloat16Bits(data), dims);
  return new ort.Tensor('float32', Float32Array.from(data), dims);
}

export function int64Tensor(values: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
}

/** A KV cache: per layer key and value, each [kvHeads, P, headDim]. */
export type KvCache = Array<{ key: ort.Tensor; value: ort.Tensor }>;

export function emptyKvCache(config: ModelConfig, dtype: ComputeDtype): KvCache {
  const empty = () => floatTensor(dtype, [], [config.numKvHeads, 0, config.headDim]);
  return Array.from({ length: config.numLayers }, () => ({ key: empty(), value: empty() }));
}

/**
 * Causal (and, with a sliding window, banded) additive mask for T new tokens after P cached ones, repeated for each
 * of the G query heads that share a KV head: [G*T, P+T].
 */
export function attentionMask(config: ModelConfig, past: number, count: number, dtype: ComputeDtype): ort.Tensor {
  const groups = config.numHeads / config.numKvHeads;
  const total = past + count;
  // Filled in place in the tensor's own array, then the G-1 repeats copied: at 4096 tokens the mask has 33M entries,
  // and building it in float64 arrays then converting made three transient copies (~0.5 GiB) and a per-entry loop.
  const data = dtype === 'float64' ? new Float64Array(groups * count * total) : new Float32Array(groups * count * total);
  data.fill(maskValue(dtype), 0, count * total);
  for (let t = 0; t < count; t++) {
    const pos = past + t;
    const first = config.slidingWindow === undefined ? 0 : Math.max(0, pos - config.slidingWindow + 1);
    data.fill(0, t * total + first, t * total + pos + 1); // keys first..pos are visible
  }
  for (let k = 1; k < groups; k++) data.copyWithin(k * count * total, 0, count * total);
  const dims = [groups * count, total];
  if (dtype === 'float16') return new ort.Tensor('float16', float32ToFloat16Bits(data), dims);
  return new ort.Tensor(dtype, data, dims);
}

/**
 * Additive mask of one KV head's queries in token-major order (row t*G + k: token from+t, query head k of the group)
 * against keys [0, to): [G*(to-from), to], causal and, with a sliding window, banded. Written into `out` (reused
 * memory: the masks of a long call add up to hundreds of MB).
 */
export function tokenMajorMask<A extends Float32Array | Float64Array>(config: ModelConfig, from: number, to: number, out: A): A {
  const groups = config.numHeads / config.numKvHeads;
  if (out.length !== groups * (to - from) * to) throw new RangeError(`tokenMajorMask: buffer of ${out.length}, need ${groups * (to - from) * to}`);
  out.fill(maskValue(out instanceof Float64Array ? 'float64' : 'float32'));
  for (let pos = from; pos < to; pos++) {
    const first = config.slidingWindow === undefined ? 0 : Math.max(0, pos - config.slidingWindow + 1);
    const row = (pos - from) * groups * to;
    out.fill(0, row + first, row + pos + 1); // keys first..pos are visible
    for (let k = 1; k < groups; k++) out.copyWithin(row + k * to, row, row + to);
  }
  return out;
}

/** Inputs shared by the forward and gradient graphs, for `ids` placed after `cache` (positions P..P+T-1). */
export function stepFeeds(config: ModelConfig, dtype: ComputeDtype, ids: number[], cache: KvCache): Record<string, ort.Tensor> {
  const past = cache[0]?.key.dims[1] ?? 0;
  const positions = ids.map((_, i) => past + i);
  const { cos, sin } = ropeTables(config, positions, dtype === 'float64' ? 'float64' : 'float32');
  const feeds: Record<string, ort.Tensor> = {
    ids: int64Tensor(ids),
    cos: floatTensor(dtype, cos, [ids.length, config.headDim]),
    sin: floatTensor(dtype, sin, [ids.length, config.headDim]),
    mask: attentionMask(config, past, ids.length, dtype),
  };
  cache.forEach(({ key, value }, l) => {
    feeds[`past_key_${l}`] = key;
    feeds[`past_value_${l}`] = value;
  });
  return feeds;
}

/** The present_key_l / present_value_l outputs of a forward run, as the next run's cache. */
export function presentKvCache(config: ModelConfig, outputs: Record<string, ort.Tensor>): KvCache {
  return Array.from({ length: config.numLayers }, (_, l) => ({ key: outputs[`present_key_${l}`], value: outputs[`present_value_${l}`] }));
}

/** Tensor data as numbers (float16 decoded). */
export function tensorNumbers(t: ort.Tensor): Float64Array {
  if (t.type === 'float16') {
    return Float64Array.from(float16BitsToFloat32(t.data as Uint16Array));
  }
  return Float64Array.from(t.data as Float32Array | Float64Array);
}
