/**
 * UI benchmark: extension activation. Measures, each in a fresh Node process (cold module cache), `require` of the
 * built extension bundle (dist/extension.js) with `vscode` replaced by a do-nothing stand-in, then its `activate()`,
 * and prints them against references from the same run: requiring an empty module (the process's fixed cost) and
 * requiring the vscode-free core (src/core's system loader, optimizer, prompt, loss and report, bundled the way
 * the extension is). Also says whether onnxruntime-node (the heavy native module) is loaded at activation: it
 * should be loaded lazily. The 200 ms target is VS Code's whole activation (load + activate) in the real extension
 * host; the UI end-to-end test (scripts/test-layers/ui-e2e.mjs) reads that one from "Running Extensions".
 * Asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import type { BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { fmt, type BenchResult } from '../lib/report';

/** The bench runs from the repository root (scripts/bench.mjs; bench/main.ts writes bench/results there too). */
const REPO = process.cwd();
const EXTENSION_BUNDLE = join(REPO, 'dist', 'extension.js');
const TARGET_MS = 200;

/**
 * A stand-in for the `vscode` module: every property is a callable, constructible stub that returns another stub,
 * iterates as empty and is not a thenable. Enough for activate() to register everything; hand-written because no
 * maintained npm package mocks the whole VS Code API (the activation path touches dozens of its namespaces).
 */
const VSCODE_STUB = `
function stub() {
  // Properties live here, not on the function (whose name and length are read-only).
  const props = new Map();
  const target = function () {};
  return new Proxy(target, {
    get(t, prop) {
      if (props.has(prop)) return props.get(prop);
      if (prop === 'then') return undefined;
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === 'prototype') return t.prototype;
      if (typeof prop === 'symbol') return t[prop];
      const child = stub();
      props.set(prop, child);
      return child;
    },
    set(t, prop, value) {
      props.set(prop, value);
      return true;
    },
    apply: () => stub(),
    construct: () => stub(),
  });
}
// esbuild's \`import * as vscode\` copies the module's own properties: the namespaces the bundle uses are filled in
// (by name) before it is required.
module.exports = {
  fill(names) {
    for (const n of names) module.exports[n] = stub();
  },
};
`;

/** The child: times require and activate of one module, reports what it loaded. Plain CommonJS (runs as is). */
const CHILD = `
const Module = require('node:module');
const { performance } = require('node:perf_hooks');
const [entry, stubPath, storage] = process.argv.slice(2);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? stubPath : resolveFilename.call(this, request, ...rest);
};
const stubbed = require(stubPath);
// The vscode namespaces and classes the bundle uses (\`vscode.window\`, \`vscode2.Uri\`, ...), read off its text.
const used = new Set();
for (const m of require('node:fs').readFileSync(entry, 'utf8').matchAll(/\\bvscode\\d*\\.([A-Za-z_$][\\w$]*)/g)) used.add(m[1]);
stubbed.fill([...used]);
const uri = (p) => ({ fsPath: p, path: p, scheme: 'file', toString: () => 'file://' + p });
const memento = () => { const m = new Map(); return { get: (k, d) => (m.has(k) ? m.get(k) : d), update: async (k, v) => void m.set(k, v), keys: () => [...m.keys()] }; };
const context = new Proxy({
  subscriptions: [], extensionPath: process.cwd(), extensionUri: uri(process.cwd()), extensionMode: 1,
  globalStorageUri: uri(storage), storageUri: uri(storage), logUri: uri(storage), globalStoragePath: storage, storagePath: storage,
  logPath: storage, workspaceState: memento(), globalState: Object.assign(memento(), { setKeysForSync() {} }),
  asAbsolutePath: (p) => require('node:path').join(process.cwd(), p),
}, { get: (t, p) => (p in t ? t[p] : stubbed[p]) });
const before = Object.keys(require.cache).length;
const t0 = performance.now();
const mod = require(entry);
const t1 = performance.now();
let activateError;
if (typeof mod.activate === 'function') {
  try { mod.activate(context); } catch (err) { activateError = String(err && err.stack || err).split('\\n').slice(0, 3).join(' | '); }
}
const t2 = performance.now();
const loaded = Object.keys(require.cache);
process.stdout.write(JSON.stringify({
  requireMs: t1 - t0, activateMs: t2 - t1, modules: loaded.length - before,
  onnxruntime: loaded.some((f) => /onnxruntime/.test(f)), activateError,
}));
`;

interface ChildResult {
  requireMs: number;
  activateMs: number;
  modules: number;
  onnxruntime: boolean;
  activateError?: string;
}

function runChild(dir: string, entry: string): ChildResult {
  const r = spawnSync(process.execPath, [join(dir, 'child.cjs'), entry, join(dir, 'vscode-stub.cjs'), join(dir, 'storage')], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
  });
  if (r.status !== 0) throw new Error(`timing ${entry} failed (exit ${r.status}): ${r.stderr.split('\n').slice(0, 5).join(' | ')}`);
  return JSON.parse(r.stdout) as ChildResult;
}

/** The vscode-free core bundled as the extension is bundled (CommonJS, node platform, same externals). */
async function bundleCore(dir: string): Promise<string> {
  const modules = ['system', 'optimizer', 'prompt', 'loss', 'report'].map((m) => join(REPO, 'src', 'core', m, 'index.ts')).filter(existsSync);
  const entry = join(dir, 'core-entry.ts');
  writeFileSync(entry, modules.map((m, i) => `export * as m${i} from ${JSON.stringify(m)};`).join('\n'));
  const outfile = join(dir, 'core.js');
  await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile, logLevel: 'silent',
    external: ['vscode', 'onnxruntime-node', 'esbuild'], nodePaths: [join(REPO, 'node_modules')],
  });
  return outfile;
}

export async function extensionActivation(ctx: BenchContext): Promise<BenchResult> {
  const name = 'ui-activation';
  const title = 'Extension activation: require + activate() of dist/extension.js (vscode stubbed), fresh process each';
  if (!existsSync(EXTENSION_BUNDLE)) {
    return { name, title, rows: [['extension', 'not measured']], metrics: { requireMs: null, activateMs: null }, notes: [`${EXTENSION_BUNDLE} is missing (node scripts/build.mjs)`] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-bench-activation-'));
  try {
    writeFileSync(join(dir, 'vscode-stub.cjs'), VSCODE_STUB);
    writeFileSync(join(dir, 'child.cjs'), CHILD);
    writeFileSync(join(dir, 'empty.cjs'), '');
    const core = await bundleCore(dir);
    const repeat = Math.max(5, ctx.repeat);
    const runs = { empty: [] as ChildResult[], core: [] as ChildResult[], extension: [] as ChildResult[] };
    runChild(dir, EXTENSION_BUNDLE); // warm-up: the page cache, not Node's module cache (each run is a new process)
    // Interleaved, so load from other processes falls on all three alike.
    for (let i = 0; i < repeat; i++) {
      runs.empty.push(runChild(dir, join(dir, 'empty.cjs')));
      runs.core.push(runChild(dir, core));
      runs.extension.push(runChild(dir, EXTENSION_BUNDLE));
    }
    const med = (rs: ChildResult[], k: 'requireMs' | 'activateMs') => median(rs.map((r) => r[k]));
    const emptyMs = med(runs.empty, 'requireMs');
    const coreMs = med(runs.core, 'requireMs');
    const requireMs = med(runs.extension, 'requireMs');
    const activateMs = med(runs.extension, 'activateMs');
    const totalMs = median(runs.extension.map((r) => r.requireMs + r.activateMs));
    const last = runs.extension[runs.extension.length - 1]!;
    const notes = [
      `Median of ${repeat} fresh processes each. The target (${TARGET_MS} ms) is for the real extension host, where VS Code also reads the bundle and runs its own bookkeeping: see the "# ui:" line of the ui-e2e test layer.`,
      'The vscode stub does nothing, so activate() here times only the extension\'s own work on activation.',
    ];
    if (last.activateError) notes.push(`activate() threw under the stub (its time is up to the throw): ${last.activateError}`);
    return {
      name,
      title,
      rows: [
        ['reference: require an empty module', `${emptyMs.toFixed(2)} ms`],
        ['reference: require the vscode-free core', `${coreMs.toFixed(1)} ms`],
        ['require dist/extension.js', `${requireMs.toFixed(1)} ms (${fmt.ratio(requireMs / coreMs)} the core)`],
        ['activate()', `${activateMs.toFixed(1)} ms`],
        ['require + activate', `${totalMs.toFixed(1)} ms (${fmt.ratio(totalMs / TARGET_MS)} the ${TARGET_MS} ms target)`],
        ['modules loaded by require + activate', `${last.modules}`],
        ['onnxruntime-node loaded at activation', last.onnxruntime ? 'yes (should be lazy)' : 'no (lazy)'],
      ],
      metrics: {
        emptyRequireMs: emptyMs,
        coreRequireMs: coreMs,
        requireMs,
        activateMs,
        totalMs,
        totalOverTarget: totalMs / TARGET_MS,
        requireOverCore: requireMs / coreMs,
        onnxruntimeAtActivation: last.onnxruntime ? 'yes' : 'no',
      },
      notes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
