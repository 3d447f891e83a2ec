// Builds the datasets of examples/multiwoz (datasets/train.jsonl, validation.jsonl, test.jsonl) from the example's
// shipped data (sample100.json, train_sample.json, gold_states_test.json):
//   node scripts/data/multiwoz-splits.mjs
// The work is done by src/benchmarks/multiwoz/splits.ts (bundled here with esbuild), which the unit tests check
// against the shipped files. Files are written to a temp name and renamed, so none is ever half-written.
import * as esbuild from 'esbuild';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');
const dataDir = join(repo, 'examples', 'multiwoz', 'data');
const outDir = join(repo, 'examples', 'multiwoz', 'datasets');

const temp = mkdtempSync(join(tmpdir(), 'agentchord-multiwoz-splits-'));
try {
  const outfile = join(temp, 'splits.cjs');
  await esbuild.build({
    entryPoints: [join(repo, 'src', 'benchmarks', 'multiwoz', 'splits.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    nodePaths: [join(repo, 'node_modules')],
  });
  const { buildDatasetSplits } = createRequire(outfile)(outfile);
  for (const [name, text] of buildDatasetSplits(dataDir)) {
    const file = join(outDir, name);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    console.log(`wrote ${join('examples', 'multiwoz', 'datasets', name)} (${text.split('\n').length - 1} dialogues)`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
