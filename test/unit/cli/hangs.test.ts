// Issue 12, the original symptom: an environment whose reset() never settles made `agentchord run` and `optimize`
// exit 0 with nothing printed and run.json left at running (the event loop simply drained). As processes now: exit 1,
// the method and its setting named, run.json failed, no writer lock left behind.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSystem } from '../core/engine/loopFixtures';
import { repoPath } from '../repo';
import { runCli } from './runCli';

let cli: string;
before(async () => {
  // As dist/cli.js is built: esbuild stays a package (it bundles the workspace's environment module at run time).
  cli = repoPath('out', 'test-fixtures', `cli-hangs-${process.pid}.js`);
  await esbuild.build({
    entryPoints: [repoPath('src/cli/main.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['onnxruntime-node', 'esbuild'],
    logLevel: 'warning',
    nodePaths: [repoPath('node_modules')],
  });
  process.once('exit', () => rmSync(cli, { force: true }));
});

function hangingSystem(): string {
  return writeSystem(
    `version: 1
models:
  m: { provider: openai, baseUrl: http://127.0.0.1:9/v1, model: test-model }
agents:
  assistant: { prompt: prompts/assistant.chord.md, model: m, inputs: [task.message] }
output: assistant
environment: { module: env.ts, timeoutSeconds: 0.5 }
datasets: { train: data/train.jsonl }
loss: { builtin: contains }
optimizer: { kind: warnings, acceptanceTest: false }
`,
    {
      'prompts/assistant.chord.md': 'Answer.\n',
      'env.ts': 'export function createEnvironment() {\n  return { reset: () => new Promise(() => {}), step: async () => ({ done: true }), evaluate: async () => ({ metrics: {}, lossFields: {} }) };\n}\n',
      'data/train.jsonl': '{"id": "d1", "reference": "x"}\n',
    },
  ).dir;
}

function onlyRun(dir: string): string {
  const runs = join(dir, '.agentchord', 'runs');
  const ids = readdirSync(runs);
  assert.equal(ids.length, 1);
  return join(runs, ids[0]);
}

describe('a user method that never settles, through the CLI', { timeout: 120_000 }, () => {
  for (const command of ['run', 'optimize']) {
    test(`agentchord ${command} exits 1 naming reset() and environment.timeoutSeconds; run.json says failed`, async () => {
      const dir = hangingSystem();
      const { code, stdout, stderr } = await runCli(cli, [command, dir, ...(command === 'optimize' ? ['--steps', '1', '--batch-size', '1'] : [])], join(dir, 'graph-cache'));
      assert.equal(code, 1, `stdout: ${stdout}\nstderr: ${stderr}`);
      assert.match(stderr, /sample "(s0:)?d1": environment env\.ts: reset\(\) did not finish within 0\.5 s \(the time-out is environment\.timeoutSeconds in agentchord\.yaml\)/);
      const run = onlyRun(dir);
      const manifest = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
      assert.equal(manifest.status, 'failed');
      assert.match(manifest.error, /reset\(\) did not finish/);
      assert.equal(existsSync(join(run, 'writer.lock')), false);
    });
  }
});
