/**
 * The example workspace's task samples (examples/tau-retail/datasets/*.jsonl), derived from the shipped tau-bench
 * task files so that `node scripts/data/tau-retail-datasets.mjs` rebuilds them byte for byte:
 *   train.jsonl       the 500 train tasks, in file order (optimization batches: N = 1 task per step);
 *   validation.jsonl  the 20 dev tasks (only used when the acceptance test is on; the paper had none);
 *   test.jsonl        the 115 test tasks in the order the GBC paper ran them (random.Random(42).shuffle).
 * One line per task: `{"id": "<split>-<taskIndex>", "split": ..., "taskIndex": ...}`; the environment looks the task
 * up by split and index, and the run converter (./runConversion.ts) reads the task back from the id.
 */
import { loadPaperTestOrder, loadRetailTasks, type RetailSplit } from './db';

/** The example's dataset files (keys of `datasets:` in agentchord.yaml) and the tau-bench split each one holds. */
export const EXAMPLE_DATASETS = [
  { file: 'train.jsonl', split: 'train' },
  { file: 'validation.jsonl', split: 'dev' },
  { file: 'test.jsonl', split: 'test' },
] as const satisfies ReadonlyArray<{ file: string; split: RetailSplit }>;

export interface TauRetailSampleFields {
  id: string;
  split: RetailSplit;
  taskIndex: number;
}

export const sampleId = (split: RetailSplit, taskIndex: number) => `${split}-${taskIndex}`;

/** `s0:val-current:dev-3` (the optimizer prefixes ids with its step label) -> { split: 'dev', taskIndex: 3 }. */
export function parseSampleId(id: string): { split: RetailSplit; taskIndex: number } | undefined {
  const match = /(?:^|:)(train|dev|test)-(\d+)$/.exec(id);
  return match ? { split: match[1] as RetailSplit, taskIndex: Number(match[2]) } : undefined;
}

/** The samples of one split, in the example's order. */
export function splitSamples(dataDir: string, split: RetailSplit): TauRetailSampleFields[] {
  const count = loadRetailTasks(dataDir, split).length;
  const order = split === 'test' ? loadPaperTestOrder(dataDir) : Array.from({ length: count }, (_, i) => i);
  if (split === 'test' && [...order].sort((a, b) => a - b).some((v, i) => v !== i || order.length !== count)) {
    throw new Error(`${dataDir}: the paper's test order must list every one of the ${count} test tasks once`);
  }
  return order.map((taskIndex) => ({ id: sampleId(split, taskIndex), split, taskIndex }));
}

/** File name -> JSONL text of every example dataset. */
export function buildExampleDatasets(dataDir: string): Map<string, string> {
  return new Map(EXAMPLE_DATASETS.map(({ file, split }) => [file, splitSamples(dataDir, split).map((s) => JSON.stringify(s) + '\n').join('')]));
}
