// `agentchord gpu` as a process: status as JSON without probes, usage errors, and an install from a feed on
// 127.0.0.1 that lacks the package (a clear message naming it; nothing is linked next to the real onnxruntime-node).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateOrt } from '../../../src/backend/runtime/gpu/ortPackage';
import { buildCli } from '../backend/server/helpers';
import { filesUnder, HAS_CUDA_MANIFEST, startFeed, type Feed } from '../backend/runtime/gpu/fakeFeed';
import { runCli } from './runCli';

const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-gpu-'));
let cli: string;
before(async () => {
  cli = await buildCli();
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('agentchord gpu', { timeout: 120_000 }, () => {
  test('status --json --no-probe: a report covering cuda, webgpu and cpu for the installed onnxruntime-node', async () => {
    const { code, stdout, stderr } = await runCli(cli, ['gpu', 'status', '--json', '--no-probe'], join(work, 'cache'));
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.ortVersion, locateOrt().version);
    assert.deepEqual(report.providers.map((p: { provider: string }) => p.provider), ['cuda', 'webgpu', 'cpu']);
  });

  test('no or an unknown subcommand exits 2 naming the choices', async () => {
    const none = await runCli(cli, ['gpu'], join(work, 'cache'));
    assert.equal(none.code, 2);
    assert.match(none.stderr, /gpu: name a subcommand: install or status/);
    const unknown = await runCli(cli, ['gpu', 'fetch'], join(work, 'cache'));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /gpu: unknown subcommand 'fetch' \(install, status\)/);
  });

  test('install from a mirror without the package exits 1 naming package and version, linking nothing', { skip: !HAS_CUDA_MANIFEST }, async () => {
    const ort = locateOrt();
    const feed: Feed = await startFeed({ name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux', version: ort.version, nupkg: new Uint8Array(), missing: true });
    const before = readdirSync(ort.bindingDir).sort();
    try {
      const { code, stderr } = await runCli(cli, ['gpu', 'install', '--feed', feed.index], join(work, 'cache'));
      assert.equal(code, 1, stderr);
      assert.ok(stderr.includes(`agentchord: gpu install: package Microsoft.ML.OnnxRuntime.Gpu.Linux not found: no version ${ort.version} on ${feed.index}`), stderr);
    } finally {
      await feed.close();
    }
    assert.deepEqual(readdirSync(ort.bindingDir).sort(), before);
  });

  test('SIGTERM during the download (the VS Code command\'s cancel) exits 130 and leaves nothing', { skip: !HAS_CUDA_MANIFEST }, async () => {
    const ort = locateOrt();
    const feed = await startFeed({ name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux', version: ort.version, nupkg: new Uint8Array(1 << 20), stallAfter: 1024 });
    const cacheDir = join(work, 'cache-cancel');
    const before = readdirSync(ort.bindingDir).sort();
    try {
      const child = spawn(process.execPath, [cli, 'gpu', 'install', '--feed', feed.index], { env: { ...process.env, AGENTCHORD_CACHE: cacheDir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/^downloading /m.test(stderr) && child.exitCode === null && !child.killed) child.kill('SIGTERM');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 130, stderr);
      assert.match(stderr, /agentchord: gpu install cancelled: nothing was installed/);
    } finally {
      await feed.close();
    }
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.deepEqual(readdirSync(ort.bindingDir).sort(), before);
  });
});
