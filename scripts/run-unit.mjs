// Run chosen unit test files quickly while working on them, without rebuilding the whole project:
//   node scripts/run-unit.mjs test/unit/core/system/files.test.ts [more files...]
// Bundles the files with esbuild into a private temp folder and runs node's test runner on them.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXTERNALS } from './lib/externals.mjs';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node scripts/run-unit.mjs <test files...>');
  process.exit(2);
}
const outdir = mkdtempSync(join(tmpdir(), 'agentchord-unit-'));
await esbuild.build({
  entryPoints: files,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  outdir,
  outbase: '.',
  external: EXTERNALS,
  logLevel: 'warning',
  nodePaths: [join(process.cwd(), 'node_modules')],
});
const built = [];
(function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.js')) built.push(p);
  }
})(outdir);
// Tests find the repository through this variable (their bundle lives elsewhere).
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...built], {
  stdio: 'inherit',
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_REPO: process.cwd(), NODE_PATH: join(process.cwd(), 'node_modules') },
});
process.exit(r.status ?? 1);
