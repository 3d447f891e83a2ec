/**
 * Rotary position embedding tables, as transformers computes them (src/transformers/modeling_rope_utils.py),
 * in the Hugging Face rotate-half convention: row p is [cos(p*f_0..f_{d/2-1}), cos(p*f_0..f_{d/2-1})] — each
 * frequency's value appears twice, once in each half of the head — and likewise for sin.
 */
import type { ModelConfig } from './config';

export type RopeDtype = 'float32' | 'float64';

export interface RopeTables<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  /** Row-major [positions.length, headDim]. */
  cos: T;
  sin: T;
}

type RopeConfig = Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling' | 'maxPositions'>;

/** The per-pair inverse frequencies and the factor transformers multiplies cos/sin by ("attention_scaling"). */
export function ropeInverseFrequencies(config: RopeConfig, seqLen: number): { invFreq: Float64Array; attentionScaling: number } {
  const dim = config.headDim;
  const half = dim / 2;
  const scaling = config.ropeScaling;
  // Mirrors _compute_default_rope_parameters: inv_freq = 1 / base^(2i/dim).
  const defaultInvFreq = (base: number) => Float64Array.from({ length: half }, (_, i) => 1 / Math.pow(base, (2 * i) / dim));
  if (!scaling) return { invFreq: defaultInvFreq(config.ropeTheta), attentionScaling: 1 };

  switch (scaling.type) {
    case 'linear': {
      // Mirrors _compute_linear_scaling_rope_parameters: inv_freq / factor.
      return { invFreq: defaultInvFreq(config.ropeTheta).map((f) => f / scaling.factor), attentionScaling: 1 };
    }
    case 'dynamic': {
      // Mirrors _compute_dynamic_ntk_parameters together with dynamic_rope_update on a fresh cache: the base grows
      // only once the sequence (max position + 1) exceeds max_position_embeddings.
      const maxPos = config.maxPositions;
      const len = Math.max(seqLen, maxPos);
      const base = config.ropeTheta * Math.pow((scaling.factor * len) / maxPos - (scaling.factor - 1), dim / (dim - 2));
      return { invFreq: defaultInvFreq(base), attentionScaling: 1 };
    }
    case 'llama3': {
      // Mirrors _compute_llama3_parameters: low frequencies divided by factor, high kept, a smooth ramp between.
      const { factor } = scaling;
      const low = scaling.lowFreqFactor ?? 1;
      const high = scaling.highFreqFactor ?? 4;
      const oldContext = scaling.originalMaxPositions ?? 8192;
      const lowFreqWavelen = oldContext / low;
      const highFreqWavelen = oldContext / high;
      const invFreq = defaultInvFreq(config.ropeTheta).map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowFreqWavelen) return f / factor;
        if (wavelen < highFreqWavelen) return f;
        const smooth = (oldContext / wavelen - low) / (high - low);
        return ((1 - smooth) * f) / factor + smooth * f;
      });
      return { invFreq, attentionScaling: 1 };
    }
    case 'yarn': {
      // Mirrors _compute_yarn_parameters (transformers v5): explicit factor; original_max_position_embeddings
      // defaults to max_position_embeddings; truncate (floor/ceil of the correction range) defaults to true.
      const base = config.ropeTheta;
      const factor = scaling.factor;
      const originalMax = scaling.originalMaxPositions ?? config.maxPositions;
      const getMscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
      let attentionScaling = scaling.attentionFactor;
      if (attentionScaling === undefined) {
        attentionScaling =
          scaling.mscale && scaling.mscaleAllDim
            ? getMscale(factor, scaling.mscale) / getMscale(factor, scaling.mscaleAllDim)
            : getMscale(factor);
      }
      const betaFast = scaling.betaFast || 32;
      const betaSlow = scaling.betaSlow || 1;
      const correctionDim = (rotations: number) => (dim * Math.log(originalMax / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
      let lowDim = correctionDim(betaFast);
      let highDim = correctionDim(betaSlow);
      if (scaling.truncate ?? true) {
        lowDim = Math.floor(lowDim);
        highDim = Math.ceil(highDim);
      }
      lowDim = Math.max(lowDim, 0);
      highDim = Math.min(highDim, dim - 1);
      if (lowDim === highDim) highDim += 0.001; // as transformers: avoid a division by zero in the ramp
      const invFreq = new Float64Array(half);
      for (let i = 0; i < half; i++) {
        const posFreq = Math.pow(base, (2 * i) / dim);
        const ramp = Math.min(1, Math.max(0, (i - lowDim) / (highDim - lowDim)));
        const extrapolationFactor = 1 - ramp;
        invFreq[i] = (1 / (factor * posFreq)) * (1 - extrapolationFactor) + (1 / posFreq) * extrapolationFactor;
      }
      return { invFreq, attentionScaling };
    }
  }
}

/** cos/sin tables for the given absolute positions (row-major [positions.length, headDim]). */
export function ropeTables(config: RopeConfig, positions: number[], dtype: 'float32'): RopeTables<Float32Array>;
export function ropeTables(config: RopeConfig, positions: number[], dtype: 'float64'): RopeTables<Float64Array>;
export function ropeTables(config: RopeConfig, positions: number[], dtype: RopeDtype): RopeTables;
export function ropeTables(config: RopeConfig, positions: number[], dtype: RopeDtype): RopeTables {
  const dim = config.headDim;
  const half = dim / 2;
  // A loop, not Math.max(...positions): spreading 100k+ arguments overflows the stack.
  const seqLen = positions.reduce((m, p) => Math.max(m, p + 1), 0);
  const { invFreq, attentionScaling } = ropeInverseFrequencies(config, seqLen);
  // transformers keeps inv_freq and the angles in float32; doing the same keeps long positions bit-close to it.
  const round = dtype === 'float32' ? Math.fround : (x: number) => x;
  const Array = dtype === 'float32' ? Float32Array : Float64Array;
  const cos = new Array(positions.length * dim);
  const sin = new Array(positions.length * dim);
  positions.forEach((p, row) => {
    for (let i = 0; i < half; i++) {
      const angle = round(p * round(invFreq[i]));
      const c = Math.cos(angle) * attentionScaling;
      const s = Math.sin(angle) * attentionScaling;
      cos[row * dim + i] = c;
      cos[row * dim + half + i] = c;
      sin[row * dim + i] = s;
      sin[row * dim + half + i] = s;
    }
  });
  return { cos, sin };
}
