// Bundles the four products (extension, CLI, attribution backend, webview) and the test files with esbuild.
// Tests are bundled too (not compiled by tsc) so that ESM-only dependencies run under Node 20's CommonJS.
// Usage: node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXTERNALS } from './lib/externals.mjs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or host-provided modules: never bundled. */
const external = EXTERNALS;

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  external,
  logLevel: 'warning',
};

function testEntries(dir) {
  const out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'fixtures') out.push(...testEntries(path));
    } else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** elkjs goes to its own dist/elk.js, required on the first layout (src/core/util/elk.ts): start-up stays fast. */
const lazyElk = {
  name: 'lazy-elk',
  setup(build) {
    build.onResolve({ filter: /^elkjs\/lib\/elk\.bundled\.js$/ }, () => ({ path: './elk.js', external: true }));
  },
};

const builds = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist', plugins: [lazyElk] },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', plugins: [lazyElk] },
  // The library API (package.json exports "./api"); its type declarations: npm run build:types.
  { ...nodeCommon, entryPoints: { api: 'src/api/index.ts' }, outdir: 'dist', plugins: [lazyElk] },
  { ...nodeCommon, entryPoints: { elk: 'node_modules/elkjs/lib/elk.bundled.js' }, outdir: 'dist', sourcemap: false },
  { ...nodeCommon, entryPoints: { backend: 'src/backend/main.ts' }, outdir: 'dist' },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: production ? false : 'linked',
    minify: production,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    logLevel: 'warning',
  },
];
if (!production) {
  const tests = [...testEntries('test'), ...testEntries('bench')].filter((p) => !p.includes('/grammar/'));
  if (tests.length) builds.push({ ...nodeCommon, entryPoints: tests, outdir: 'out', outbase: '.' });
  // The bundles of tests that were moved or deleted would still run (the unit layer runs every file under out/test):
  // start from an empty out/test.
  if (!watch) rmSync(join('out', 'test'), { recursive: true, force: true });
}

const present = builds.filter((b) => {
  const eps = Array.isArray(b.entryPoints) ? b.entryPoints : Object.values(b.entryPoints);
  return eps.every((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
});

if (watch) {
  for (const b of present) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(present.map((b) => esbuild.build(b)));
}
