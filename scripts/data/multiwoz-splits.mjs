// Builds the datasets of examples/multiwoz (datasets/train.jsonl, validation.jsonl, test.jsonl) from the example's
// shipped data (sample100.json, train_sample.json, gold_states_test.json):
//   node scripts/data/multiwoz-splits.mjs
// The work is done by src/evals/multiwoz/splits.ts, which the unit tests check against the shipped files.
import { join } from 'node:path';
import { loadTsModule, REPO, writeFileReplacing } from '../lib/tsModule.mjs';

const dataDir = join(REPO, 'examples', 'multiwoz', 'data');
const outDir = join(REPO, 'examples', 'multiwoz', 'datasets');

const { buildDatasetSplits } = await loadTsModule('src/evals/multiwoz/splits.ts');
for (const [name, text] of buildDatasetSplits(dataDir)) {
  writeFileReplacing(join(outDir, name), text);
  console.log(`wrote ${join('examples', 'multiwoz', 'datasets', name)} (${text.split('\n').length - 1} dialogues)`);
}
