/** Test helper: checks autodiff gradients against central finite differences, in float64 on ORT's CPU provider. */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { differentiate, Graph, serialize, type Value } from '../../../../src/backend/onnx';

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}

export interface GradInput {
  shape: number[];
  /** Values; default: uniform in [-1, 1). */
  data?: number[];
  /** Range for random data (e.g. positive only for Sqrt/Log). */
  range?: [number, number];
}

/**
 * Builds `f(inputs)`, forms S = sum(f * R) with a fixed random R (so every output element matters differently),
 * differentiates S w.r.t. all inputs, and compares with central differences of S.
 */
export async function gradCheck(
  inputs: GradInput[],
  f: (g: Graph, xs: Value[]) => Value,
  seed = 1,
  { eps = 1e-6, rtol = 1e-5 }: { eps?: number; rtol?: number } = {},
): Promise<void> {
  const rand = seeded(seed);
  const g = new Graph('gradcheck');
  const xs = inputs.map((spec, i) => g.input(`x${i}`, 'float64', spec.shape));
  const y = f(g, xs);
  const ySize = (y.shape as number[]).reduce((p, d) => p * d, 1);
  const weights = g.constant('float64', y.shape as number[], Array.from({ length: ySize }, () => rand(0.5, 1.5)));
  const weighted = g.mul(y, weights);
  const s = y.shape.length ? g.reduceSum(weighted, y.shape.map((_, i) => i), false) : weighted;
  g.output(s, 'S');
  const grads = differentiate(g, s, xs);
  grads.forEach((gr, i) => g.output(gr, `grad${i}`));
  const session = await ort.InferenceSession.create(serialize(g), { graphOptimizationLevel: 'all' });
  try {
    const data = inputs.map((spec) => {
      const n = spec.shape.reduce((p, d) => p * d, 1);
      const [lo, hi] = spec.range ?? [-1, 1];
      return Float64Array.from(spec.data ?? Array.from({ length: n }, () => rand(lo, hi)));
    });
    const feeds = () => Object.fromEntries(data.map((d, i) => [`x${i}`, new ort.Tensor('float64', d.slice(), inputs[i].shape)]));
    const result = await session.run(feeds());
    const S = async () => ((await session.run(feeds(), ['S'])).S.data as Float64Array)[0];
    let checked = 0;
    for (let i = 0; i < data.length; i++) {
      const analytic = result[`grad${i}`].data as Float64Array;
      assert.deepEqual([...result[`grad${i}`].dims], inputs[i].shape, `grad${i} shape`);
      for (let k = 0; k < data[i].length; k++) {
        const orig = data[i][k];
        data[i][k] = orig + eps;
        const plus = await S();
        data[i][k] = orig - eps;
        const minus = await S();
        data[i][k] = orig;
        const numeric = (plus - minus) / (2 * eps);
        const tol = 1e-6 + rtol * Math.abs(numeric);
        assert.ok(Math.abs(analytic[k] - numeric) <= tol, `input ${i} element ${k}: autodiff ${analytic[k]} vs finite differences ${numeric}`);
        checked++;
      }
    }
    assert.ok(checked > 0);
  } finally {
    await session.release();
  }
}
