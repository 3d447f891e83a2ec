import { parameterCount, type RandomModelSpec } from '../lib/models';

/**
 * The scale benchmark's model: Qwen3-0.6B's configuration (28 layers, hidden 1024, 16 query / 8 KV heads of 128,
 * intermediate 3072, vocabulary 151936, tied embeddings, rope_theta 1e6) with seeded random weights stored as BF16,
 * as the real checkpoint is (1.2 GB).
 */
export const SCALE_MODEL_NAME = 'qwen3-0.6b-bf16';
export const SCALE_MODEL: RandomModelSpec = {
  arch: 'qwen3',
  hiddenSize: 1024,
  numLayers: 28,
  numHeads: 16,
  numKvHeads: 8,
  headDim: 128,
  intermediateSize: 3072,
  vocabSize: 151936,
  tie: true,
  seed: 600,
  dtype: 'BF16',
  maxPositions: 40960,
  ropeTheta: 1e6,
};

export const SCALE_MODEL_LABEL = `${SCALE_MODEL_NAME} (Qwen3-0.6B shape, ${(parameterCount(SCALE_MODEL) / 1e6).toFixed(0)}M params, random BF16 weights)`;
