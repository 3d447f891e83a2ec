// Rebuilds examples/multiwoz/data/ from the shared MultiWOZ data (../shared/data/multiwoz, or the folder given):
//   node scripts/data/multiwoz-extract.mjs [shared-multiwoz-dir]
// The work is done by src/benchmarks/multiwoz/extract.ts (bundled here with esbuild, like the tests), so the
// derivations the unit tests check are the ones that produced the shipped files.
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');
const shared = resolve(process.argv[2] ?? join(repo, '..', 'shared', 'data', 'multiwoz'));
const outDir = join(repo, 'examples', 'multiwoz', 'data');

const temp = mkdtempSync(join(tmpdir(), 'agentchord-multiwoz-'));
try {
  const outfile = join(temp, 'extract.cjs');
  await esbuild.build({
    entryPoints: [join(repo, 'src', 'benchmarks', 'multiwoz', 'extract.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    nodePaths: [join(repo, 'node_modules')],
  });
  const { buildExampleData, writeExampleData } = createRequire(outfile)(outfile);
  const files = buildExampleData(shared);
  writeExampleData(files, outDir);
  for (const name of [...files.keys()].sort()) console.log(`wrote ${join('examples', 'multiwoz', 'data', name)}`);
} finally {
  rmSync(temp, { recursive: true, force: true });
}
