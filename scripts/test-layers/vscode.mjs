// Extension-host tests in a real VS Code, offline: the VS Code server from the npm package code-server (run with
// Node 24), driven by headless Chromium through playwright-core. Runs the same compiled mocha suites as
// `npm run test:electron` (out/test/vscode/index.js). Recipe: ../shared/notes/vscode-offline-testing.md, section A.
// Also checks that the VSIX packages and holds the extension bundle and the grammar.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { provision } from '../provision-vscode.mjs';
import { CHROMIUM, CHROMIUM_FLAGS, REPO, freePort, isolatedEnv, stopGroup, waitForServer } from './lib/vscodeServer.mjs';

const TESTS_INDEX = join(REPO, 'out', 'test', 'vscode', 'index.js');
const FIXTURE_WORKSPACE = join(REPO, 'test', 'vscode', 'fixtures', 'workspace');
const ARTIFACTS = join(REPO, 'test-artifacts', 'vscode');
/**
 * The untrusted pass runs every suite (the workspace opens in Restricted Mode); a second, trusted pass
 * (--disable-workspace-trust) runs only the suites that need to run tools, models and the backend.
 */
const TRUSTED_SUITES = 'AgentChord commands \\(trusted workspace\\)';
/** Printed by test/vscode/index.ts when mocha finishes. */
const RESULT_PREFIX = 'AGENTCHORD_VSCODE_RESULT ';
/** Printed by a suite (test/vscode/suite/systemsView.test.ts) while the Systems view is up: check the page then. */
const UI_CHECKPOINT = 'AGENTCHORD_UI_CHECKPOINT';
/** Whole run, server start to mocha's end (provisioning not included). */
const RUN_TIMEOUT_MS = 5 * 60_000;
/** Harmless offline noise (see the notes): kept in test-artifacts/vscode/exthost.log, not echoed. */
const NOISE = new RegExp([
  '^\\[(AgentHost|AgentHost:remote|ChatModelSelection|AccountPolicyGate|Service Worker|reconnection-grace-time)\\]',
  'ENOTFOUND', 'Timed out waiting for authentication provider', '^\\s+at ',
  '^(Creating a socket|Resolving connection token|Resolved connection token|Updating additional builtin|Creation of workbench contribution)',
].join('|'));

export async function run({ ci }) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const missing = (reason) => {
    if (ci) {
      console.log(`not ok vscode: ${reason}`);
      totals.failed++;
    } else {
      console.log(`\nWARNING: VS Code extension-host tests SKIPPED: ${reason}\n`);
      totals.skipped++;
    }
  };

  const reason = prerequisiteProblem();
  if (reason) {
    missing(reason);
  } else {
    let paths;
    try {
      paths = provision({ log: (line) => console.log(line) });
    } catch (err) {
      missing(`provisioning code-server failed: ${err instanceof Error ? err.message : err}`);
    }
    if (paths) add(totals, await runSuites(paths));
    if (paths && trustedPassWanted()) add(totals, await runSuites(paths, { trusted: true }));
  }
  add(totals, await checkVsix());
  return totals;
}

function add(totals, r) {
  for (const k of Object.keys(totals)) totals[k] += r[k];
}

function prerequisiteProblem() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the offline runner needs linux-x64 (this is ${process.platform}-${process.arch}); use npm run test:electron`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install chromium, or set AGENTCHORD_CHROMIUM)`;
  if (!existsSync(TESTS_INDEX)) return `${TESTS_INDEX} not built (node scripts/build.mjs)`;
  if (!existsSync(join(REPO, 'dist', 'extension.js'))) return 'dist/extension.js not built (node scripts/build.mjs)';
  return undefined;
}

/** The trusted pass runs unless AGENTCHORD_VSCODE_GREP selects other suites only. */
function trustedPassWanted() {
  const grep = process.env.AGENTCHORD_VSCODE_GREP;
  return !grep || new RegExp(grep).test('AgentChord commands (trusted workspace)');
}

async function runSuites(paths, { trusted = false } = {}) {
  const artifacts = trusted ? `${ARTIFACTS}-trusted` : ARTIFACTS;
  if (trusted) console.log('\n# vscode: trusted workspace pass (--disable-workspace-trust)');
  const { chromium } = await import('playwright-core');
  const scratch = mkdtempSync(join(tmpdir(), 'agentchord-vscode-'));
  const workspace = join(scratch, 'workspace');
  // A fresh copy every run: the suites edit, create and delete files in it.
  cpSync(FIXTURE_WORKSPACE, workspace, { recursive: true });
  const resultFile = join(scratch, 'result.json');
  const env = isolatedEnv(scratch, {
    AGENTCHORD_VSCODE_RESULT_FILE: resultFile,
    AGENTCHORD_UI_CHECKPOINT: UI_CHECKPOINT,
    ...(trusted ? { AGENTCHORD_VSCODE_GREP: TRUSTED_SUITES } : {}),
  });
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });

  const port = await freePort();
  const serverLog = [];
  // Detached: its own process group, so the whole tree (the agentHost child and what it starts) can be stopped.
  const server = spawn(paths.node, [paths.serverMain, '--host', '127.0.0.1', '--port', String(port),
    '--without-connection-token', '--accept-server-license-terms', '--enable-smoke-test-driver', '--telemetry-level', 'off',
    '--server-data-dir', join(scratch, 'server-data'), '--extensions-dir', join(scratch, 'extensions'),
    ...(trusted ? ['--disable-workspace-trust'] : [])], {
    cwd: scratch,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let context;
  let result;
  const relayed = [];
  try {
    await waitForServer(server, serverLog);
    context = await chromium.launchPersistentContext(join(scratch, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      env,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let exited;
    const exit = new Promise((r) => (exited = r));
    let uiCheck;
    await page.exposeFunction('codeAutomationLog', (_type, args) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      relayed.push(line);
      if (!NOISE.test(line)) console.log(`  [exthost] ${line}`);
      if (line.startsWith(`${UI_CHECKPOINT} systems-view`)) uiCheck = checkSystemsView(page);
    });
    await page.exposeFunction('codeAutomationExit', (code, logs) => {
      for (const log of Array.isArray(logs) ? logs : []) {
        const name = String(log.relativePath).replace(/[^\w.-]+/g, '_');
        writeFileSync(join(artifacts, `log-${name}`), String(log.contents ?? ''));
      }
      exited(code);
    });
    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${REPO}`],
      ['extensionTestsPath', `vscode-remote://127.0.0.1:${port}${TESTS_INDEX}`],
    ];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURI(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    let timer;
    const timeout = new Promise((r) => (timer = setTimeout(() => r('timeout'), RUN_TIMEOUT_MS)));
    const serverDied = new Promise((r) => server.once('exit', (code) => r(`server exited (${code})`)));
    const outcome = await Promise.race([exit, timeout, serverDied]);
    clearTimeout(timer);
    await page.screenshot({ path: join(artifacts, 'workbench-end.png') }).catch(() => {});
    result = summarize(outcome, relayed);
    // The trusted pass does not open the Systems view: no UI check there.
    const ui = trusted ? { passed: 0, failed: 0, skipped: 0 } : ((await uiCheck) ?? (grepping() ? { passed: 0, failed: 0, skipped: 1 } : notReached()));
    add(result, ui);
  } catch (err) {
    result = { passed: 0, failed: 1, skipped: 0 };
    console.log(`not ok vscode: ${err instanceof Error ? err.message : err}`);
  } finally {
    await context?.close().catch(() => {});
    await stopGroup(server);
    writeFileSync(join(artifacts, 'server.log'), serverLog.join(''));
    writeFileSync(join(artifacts, 'exthost.log'), relayed.join('\n') + '\n');
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

/** While the suite holds the Systems view open: the rendered rows must show the fixture's systems and agents. */
async function checkSystemsView(page) {
  try {
    const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /Systems/i }) });
    for (const text of ['fixture-valid', 'researcher', 'writer']) {
      await view.locator('.monaco-list-row', { hasText: text }).first().waitFor({ state: 'visible', timeout: 2500 });
    }
    await page.screenshot({ path: join(ARTIFACTS, 'systems-view.png') });
    console.log('ok ui: the Systems view shows the fixture systems and agents (test-artifacts/vscode/systems-view.png)');
    return { passed: 1, failed: 0, skipped: 0 };
  } catch (err) {
    await page.screenshot({ path: join(ARTIFACTS, 'systems-view.png') }).catch(() => {});
    console.log(`not ok ui: the Systems view does not show the fixture's systems: ${err instanceof Error ? err.message.split('\n')[0] : err}`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

function grepping() {
  return Boolean(process.env.AGENTCHORD_VSCODE_GREP);
}

function notReached() {
  console.log('not ok ui: the suite never reached the Systems-view checkpoint');
  return { passed: 0, failed: 1, skipped: 0 };
}

/** The mocha counts printed by the test index; a missing line means the host never ran the suites. */
function summarize(outcome, relayed) {
  const line = relayed.findLast((l) => l.startsWith(RESULT_PREFIX));
  if (!line) {
    const why = typeof outcome === 'string' ? outcome : `extension tests exited with ${outcome} before reporting results`;
    console.log(`not ok vscode: ${why === 'timeout' ? `timed out after ${RUN_TIMEOUT_MS / 1000} s` : why}`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const counts = JSON.parse(line.slice(RESULT_PREFIX.length));
  for (const f of counts.failures) console.log(`not ok ${f}`);
  // An exit code of 1 with no failing test (run() threw for another reason) still fails the layer.
  const extra = outcome !== 0 && counts.failed === 0 ? 1 : 0;
  return { passed: counts.passed, failed: counts.failed + extra, skipped: counts.skipped };
}

/** Files the VSIX must hold (paths inside the archive), beyond every grammar that package.json contributes. */
const VSIX_REQUIRED = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/schemas/agentchord.schema.json',
  'extension/media/icon.png',
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-common/package.json',
  'extension/node_modules/esbuild/lib/main.js',
  'extension/models/chord-retrieval/model.safetensors',
  'extension/models/stories260k/tokenizer.json',
  'extension/examples/multiwoz/data/sample100.json',
  // The walkthrough's step pages and the README's screenshots (the README ships too).
  'extension/media/walkthrough/run-demo.md',
  'extension/docs/screenshots/graph.png',
];

/** `vsce package` into a temp folder (the current build), then checks the archive's file list: one test. */
async function checkVsix() {
  const scratch = mkdtempSync(join(tmpdir(), 'agentchord-vsix-'));
  const vsix = join(scratch, 'agentchord.vsix');
  try {
    const vsce = join(REPO, 'node_modules', '@vscode', 'vsce', 'vsce');
    const pack = spawnSync(process.execPath, [vsce, 'package', '--no-rewrite-relative-links', '--out', vsix], { cwd: REPO, encoding: 'utf8' });
    if (pack.status !== 0) {
      console.log(`not ok vsix: vsce package failed:\n${pack.stdout}\n${pack.stderr}`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    const entries = await zipEntries(vsix);
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    const grammars = (manifest.contributes?.grammars ?? []).map((g) => `extension/${g.path.replace(/^\.\//, '')}`);
    const missing = [...VSIX_REQUIRED, ...grammars].filter((p) => !entries.has(p));
    const leaked = [...entries].filter((p) => /^extension\/(src|test|out|scripts)\/|\.map$|\.ts$/.test(p) && !p.endsWith('.d.ts'));
    if (missing.length || leaked.length) {
      console.log(`not ok vsix: missing ${JSON.stringify(missing)}, should not ship ${JSON.stringify(leaked.slice(0, 10))}`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    console.log(`ok vsix (${entries.size} files, grammars: ${grammars.length})`);
    return { passed: 1, failed: 0, skipped: 0 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The names in a zip archive, read with yauzl (the reader vsce itself depends on). */
function zipEntries(file) {
  const yauzl = createRequire(join(REPO, 'node_modules', '@vscode', 'vsce', 'package.json'))('yauzl');
  return new Promise((resolveNames, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names = new Set();
      zip.on('entry', (entry) => {
        names.add(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolveNames(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
