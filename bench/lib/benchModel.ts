import { parameterCount, type RandomModelSpec } from './models';

/**
 * The benchmark model: qwen2-shaped (q/k/v bias, GQA), about 20M parameters, long enough context for the 4096-token
 * prefix benchmark. 6 x (attention 0.79M + MLP 3 x 512 x 1408 = 2.16M) + tied embedding 2.1M = 19.8M.
 */
export const BENCH_MODEL_NAME = 'qwen2-20m';
export const BENCH_MODEL: RandomModelSpec = {
  arch: 'qwen2',
  hiddenSize: 512,
  numLayers: 6,
  numHeads: 8,
  numKvHeads: 4,
  intermediateSize: 1408,
  vocabSize: 4096,
  tie: true,
  seed: 20,
  maxPositions: 8192,
};

export const BENCH_MODEL_LABEL = `${BENCH_MODEL_NAME} (${(parameterCount(BENCH_MODEL) / 1e6).toFixed(1)}M params, ${BENCH_MODEL.numLayers} layers, hidden ${BENCH_MODEL.hiddenSize}, ${BENCH_MODEL.numHeads}/${BENCH_MODEL.numKvHeads} heads, vocab ${BENCH_MODEL.vocabSize})`;
