/**
 * Benchmark models: random models written by the product's own generator into .bench/models/<name> (gitignored),
 * reused across runs while their spec is unchanged.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeRandomModel, type RandomModelSpec } from '../../src/backend/model/randomModel';

export type { RandomModelSpec };

export const BENCH_DIR = resolve('.bench');

/** Returns the folder of the model, writing it first if missing or written from another spec. */
export function ensureModel(name: string, spec: RandomModelSpec): string {
  const dir = join(BENCH_DIR, 'models', name);
  const stamp = JSON.stringify(spec);
  const stampFile = join(dir, 'bench-spec.json');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(BENCH_DIR, 'models'), { recursive: true });
  writeRandomModel(dir, spec);
  writeFileSync(stampFile, stamp);
  return dir;
}

/** Parameter count of a llama-family model from its spec (embedding + layers + final norm [+ lm_head]). */
export function parameterCount(s: RandomModelSpec): number {
  const headDim = s.headDim ?? s.hiddenSize / s.numHeads;
  const q = s.hiddenSize * s.numHeads * headDim;
  const kv = 2 * s.hiddenSize * s.numKvHeads * headDim;
  const bias = s.arch === 'qwen2' ? (s.numHeads + 2 * s.numKvHeads) * headDim : 0;
  const layer = 2 * q + kv + bias + 3 * s.hiddenSize * s.intermediateSize + 2 * s.hiddenSize;
  const embed = s.vocabSize * s.hiddenSize;
  return embed * (s.tie ? 1 : 2) + s.numLayers * layer + s.hiddenSize;
}
