// Rebuilds examples/multiwoz/data/ from the shared MultiWOZ data (../shared/data/multiwoz, or the folder given):
//   node scripts/data/multiwoz-extract.mjs [shared-multiwoz-dir]
// The work is done by src/evals/multiwoz/extract.ts, so the derivations the unit tests check are the ones that
// produced the shipped files.
import { join, resolve } from 'node:path';
import { loadTsModule, REPO } from '../lib/tsModule.mjs';

const shared = resolve(process.argv[2] ?? join(REPO, '..', 'shared', 'data', 'multiwoz'));
const outDir = join(REPO, 'examples', 'multiwoz', 'data');

const { buildExampleData, writeExampleData } = await loadTsModule('src/evals/multiwoz/extract.ts');
const files = buildExampleData(shared);
writeExampleData(files, outDir);
for (const name of [...files.keys()].sort()) console.log(`wrote ${join('examples', 'multiwoz', 'data', name)}`);
