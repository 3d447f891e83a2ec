/** Builds the backend bundles the process tests spawn. */
import * as esbuild from 'esbuild';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../repo';

const bundleOptions = {
  bundle: true,
  platform: 'node' as const,
  target: 'node20',
  format: 'cjs' as const,
  external: ['onnxruntime-node'],
  logLevel: 'warning' as const,
  nodePaths: [repoPath('node_modules')],
};

/** Bundles a test-private copy under out/ (so it finds node_modules), removed when the test process ends. */
async function buildPrivate(entry: string, name: string): Promise<string> {
  // Per process: test files run in parallel and must not overwrite a bundle another one is running.
  const outfile = repoPath('out', 'test-fixtures', `${name}-${process.pid}.js`);
  await esbuild.build({ ...bundleOptions, entryPoints: [repoPath(entry)], outfile });
  process.once('exit', () => rmSync(outfile, { force: true }));
  return outfile;
}

/** The real backend process with a fake model (fixtures/fakeBackend.ts). */
export const buildFakeBackend = () => buildPrivate('test/unit/backend/server/fixtures/fakeBackend.ts', 'fakeBackend');

/** The CLI (src/cli/main.ts), as dist/cli.js would be. */
export const buildCli = () => buildPrivate('src/cli/main.ts', 'cli');

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestSourceTime(path) : stat.mtimeMs);
  }
  return newest;
}

/** dist/backend.js as `node scripts/build.mjs` makes it; rebuilt the same way when it is missing or older than src/. */
export async function realBackend(): Promise<string> {
  const outfile = repoPath('dist', 'backend.js');
  let built = 0;
  try {
    built = statSync(outfile).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < newestSourceTime(repoPath('src')) || built < statSync(repoPath('package.json')).mtimeMs) {
    await esbuild.build({ ...bundleOptions, sourcemap: 'linked', entryPoints: [repoPath('src/backend/main.ts')], outfile });
  }
  return outfile;
}

/** A model folder the fake backend accepts (it only checks that config.json exists). */
export function fakeModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-fake-model-'));
  writeFileSync(join(dir, 'config.json'), '{"model_type": "fake"}');
  return dir;
}

/** Starts `node <backend> --listen 127.0.0.1:0` and resolves once it says which port it got. */
export function startTcpBackend(backendPath: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ child: ChildProcess; port: number; stderr: string[] }> {
  const child = spawn(process.execPath, [backendPath, '--listen', '127.0.0.1:0', '--device', 'cpu', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ...env },
  });
  const stderr: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (port) resolve({ child, port: Number(port), stderr });
    });
    child.on('exit', (code) => reject(new Error(`backend exited with ${code} before listening:\n${stderr.join('\n')}`)));
  });
}
