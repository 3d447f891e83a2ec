// Runs one TypeScript entry of bench/ (e.g. bench/fixtures/makeModels.ts) with its arguments, without building the
// whole project: bundles just that file with esbuild into a private temp folder, then runs it with node.
//   node bench/lib/runTs.mjs bench/fixtures/makeModels.ts <args...>
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXTERNALS } from '../../scripts/lib/externals.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/lib/runTs.mjs <entry.ts> [args...]');
  process.exit(2);
}
const outdir = mkdtempSync(join(tmpdir(), 'agentchord-bench-ts-'));
const outfile = join(outdir, 'entry.js');
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  outfile,
  external: EXTERNALS,
  logLevel: 'warning',
  nodePaths: [resolve('node_modules')],
});
const r = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], {
  stdio: 'inherit',
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', NODE_PATH: resolve('node_modules') },
});
rmSync(outdir, { recursive: true, force: true });
process.exit(r.status ?? 1);
