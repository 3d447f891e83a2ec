// Rebuilds examples/tau-retail/datasets/{train,validation,test}.jsonl from the shipped tau-bench tasks
// (examples/tau-retail/data, or the folder given):
//   node scripts/data/tau-retail-datasets.mjs [data-dir]
// The derivation is src/evals/tau-retail/datasets.ts, so the unit test that checks the shipped files runs the
// same code. Deterministic: same data, same bytes.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTsModule, REPO, writeFileReplacing } from '../lib/tsModule.mjs';

const dataDir = resolve(process.argv[2] ?? join(REPO, 'examples', 'tau-retail', 'data'));
const outDir = join(REPO, 'examples', 'tau-retail', 'datasets');

const { buildExampleDatasets } = await loadTsModule('src/evals/tau-retail/datasets.ts');
mkdirSync(outDir, { recursive: true });
for (const [name, text] of buildExampleDatasets(dataDir)) {
  writeFileReplacing(join(outDir, name), text);
  console.log(`wrote ${join('examples', 'tau-retail', 'datasets', name)} (${text.split('\n').length - 1} samples)`);
}
