// Rebuilds examples/tau-retail/datasets/{train,validation,test}.jsonl from the shipped tau-bench tasks
// (examples/tau-retail/data, or the folder given):
//   node scripts/data/tau-retail-datasets.mjs [data-dir]
// The derivation is src/benchmarks/tau-retail/datasets.ts (bundled here with esbuild, like the tests), so the unit
// test that checks the shipped files runs the same code. Deterministic: same data, same bytes.
import * as esbuild from 'esbuild';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');
const dataDir = resolve(process.argv[2] ?? join(repo, 'examples', 'tau-retail', 'data'));
const outDir = join(repo, 'examples', 'tau-retail', 'datasets');

const temp = mkdtempSync(join(tmpdir(), 'agentchord-tau-retail-'));
try {
  const outfile = join(temp, 'datasets.cjs');
  await esbuild.build({
    entryPoints: [join(repo, 'src', 'benchmarks', 'tau-retail', 'datasets.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    nodePaths: [join(repo, 'node_modules')],
  });
  const { buildExampleDatasets } = createRequire(outfile)(outfile);
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of buildExampleDatasets(dataDir)) {
    const file = join(outDir, name);
    writeFileSync(`${file}.tmp`, text); // then rename: a reader never sees half a file
    renameSync(`${file}.tmp`, file);
    console.log(`wrote ${join('examples', 'tau-retail', 'datasets', name)} (${text.split('\n').length - 1} samples)`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
