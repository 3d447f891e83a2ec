// Plumbing shared by the layers that run a real VS Code server (vscode.mjs: mocha suites in the extension host;
// ui-e2e.mjs: clicks and screenshots): ports, an isolated environment, start-up and shutdown of the server.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
export const CHROMIUM = process.env.AGENTCHORD_CHROMIUM || '/usr/bin/chromium';
/** Flags that work on these machines (see ../shared/notes/vscode-offline-testing.md); no background networking. */
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
export const SERVER_START_TIMEOUT_MS = 60_000;

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** HOME, XDG folders and TMPDIR inside the run's scratch folder: nothing lands in ~ or /tmp. */
export function isolatedEnv(scratch, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  const dirs = { HOME: 'home', XDG_CONFIG_HOME: 'config', XDG_DATA_HOME: 'data', XDG_CACHE_HOME: 'cache', TMPDIR: 'tmp' };
  for (const [k, sub] of Object.entries(dirs)) {
    env[k] = join(scratch, sub);
    mkdirSync(env[k], { recursive: true });
  }
  return { ...env, ORT_DISABLE_TELEMETRY: '1', ...extra };
}

/** Resolves once the server prints that its extension host agent listens; collects its output into serverLog. */
export function waitForServer(server, serverLog) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`VS Code server did not start in ${SERVER_START_TIMEOUT_MS / 1000} s:\n${serverLog.join('')}`)), SERVER_START_TIMEOUT_MS);
    server.stdout.on('data', (chunk) => {
      serverLog.push(chunk.toString());
      if (serverLog.join('').includes('Extension host agent listening on')) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    server.stderr.on('data', (chunk) => serverLog.push(chunk.toString()));
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`VS Code server exited with ${code} before listening:\n${serverLog.join('')}`));
    });
  });
}

/**
 * SIGTERM to the server's process group, then SIGKILL to whatever is left after a few seconds: a SIGTERM to the
 * server alone leaves its agent-host child running.
 */
export async function stopGroup(child) {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone.
  }
}
