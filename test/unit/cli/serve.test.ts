/**
 * `agentchord serve` as a process, and a run whose attribution is spread over several of them (test/unit/core/backend/
 * pool.test.ts covers the pool's rules with fakes). Everything on 127.0.0.1, models/chord-retrieval from the repo.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendClient } from '../../../src/core/backend/client';
import { buildCli } from '../backend/server/helpers';
import { repoPath } from '../repo';
import { runCli } from './runCli';

const TOKEN = 'test-token-b6f1c2';
const work = mkdtempSync(join(tmpdir(), 'agentchord-serve-'));
const cacheDir = join(work, 'cache');
let cli: string;

interface Serve {
  child: ChildProcess;
  port: number;
  events: Array<Record<string, unknown>>;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `agentchord serve` on a free loopback port; resolves once its `listening` event says which. */
function serve(args: string[] = [], env: NodeJS.ProcessEnv = { AGENTCHORD_BACKEND_TOKEN: TOKEN }, onEvent?: (e: Record<string, unknown>, s: Serve) => void): Promise<Serve> {
  const child = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0', '--device', 'cpu', '--models-dir', repoPath('models'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: cacheDir, AGENTCHORD_BACKEND_TOKEN: '', ...env },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const s: Serve = { child, port: 0, events: [], lines: [], exited };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      s.lines.push(line);
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return reject(new Error(`serve wrote a line that is not JSON: ${line}`));
      }
      s.events.push(event);
      if (event.event === 'listening') {
        s.port = Number(event.port);
        resolve(s);
      }
      onEvent?.(event, s);
    });
    void exited.then(({ code }) => reject(new Error(`serve exited with ${code} before listening:\n${s.lines.join('\n')}`)));
  });
}

/** demo-blame with eight samples (the two planted cases, four times each) and the model path made absolute. */
function system(): string {
  const dir = mkdtempSync(join(work, 'system-'));
  cpSync(repoPath('examples', 'demo-blame'), dir, { recursive: true, filter: (src) => !src.includes('.agentchord') });
  const yaml = readFileSync(join(dir, 'agentchord.yaml'), 'utf8').replace('path: ../../models/chord-retrieval', `path: ${repoPath('models', 'chord-retrieval')}`);
  writeFileSync(join(dir, 'agentchord.yaml'), yaml);
  const samples = readFileSync(join(dir, 'data', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
  const more = [0, 1, 2, 3].flatMap((k) => samples.map((s) => JSON.stringify({ ...s, id: `${s.id}-${k}` })));
  writeFileSync(join(dir, 'data', 'train.jsonl'), more.join('\n') + '\n');
  return dir;
}

function runDir(systemDir: string): string {
  const runs = join(systemDir, '.agentchord', 'runs');
  const [only] = readdirSync(runs);
  return join(runs, only);
}

const records = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  cli = await buildCli();
});

describe('agentchord serve', () => {
  test('refuses to start without a token, and --insecure-no-token off loopback', async () => {
    const none = await runCli(cli, ['serve', '--listen', '127.0.0.1:0'], cacheDir);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no token: set the environment variable AGENTCHORD_BACKEND_TOKEN/);
    const wide = await runCli(cli, ['serve', '--listen', '0.0.0.0:0', '--insecure-no-token'], cacheDir);
    assert.equal(wide.code, 2);
    assert.match(wide.stderr, /--insecure-no-token is only allowed on a loopback address, not --listen 0\.0\.0\.0/);
    const half = await runCliEnv(['serve', '--tls-cert', 'x.pem'], { AGENTCHORD_BACKEND_TOKEN: TOKEN });
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });

  test('resolves models by name, refuses client paths, reports backend/status, drains on SIGTERM and exits 0', async () => {
    const s = await serve();
    const client = new BackendClient({ connect: { host: '127.0.0.1', port: s.port, token: TOKEN }, maxRestarts: 0 });
    try {
      const info = await client.start();
      assert.equal(info.modelsByName, true);
      await assert.rejects(client.loadModel({ dir: repoPath('models', 'chord-retrieval') }), (err: Error) => {
        assert.match(err.message, /the server resolves models by name; .*chord-retrieval is a client path/);
        return true;
      });
      await assert.rejects(client.loadModel({ dir: 'no-such-model' }), /model 'no-such-model' is not on this server/);
      const { modelId } = await client.loadModel({ dir: 'chord-retrieval' });
      const status = await client.backendStatus();
      assert.equal(status.device.device, 'cpu');
      assert.equal(status.draining, false);
      assert.equal(status.inFlight, 0);
      assert.deepEqual(status.loadedModels.map((m) => m.modelId), [modelId]);
      assert.equal(typeof status.version, 'string');
      assert.ok(status.uptimeSeconds >= 0);
    } finally {
      await client.dispose();
    }
    s.child.kill('SIGTERM');
    assert.deepEqual(await s.exited, { code: 0, signal: null });
    const names = s.events.map((e) => e.event);
    assert.ok(names.includes('draining') && names.includes('stopped'), names.join(', '));
    const request = s.events.find((e) => e.event === 'request' && e.method === 'loadModel' && e.ok === true);
    assert.ok(request && typeof request.durationMs === 'number' && typeof request.connection === 'string' && typeof request.time === 'string' && request.level === 'info');
    assert.ok(s.lines.every((l) => !l.includes(TOKEN)), 'the token is never logged');
  });

  test('a wrong token is refused', async () => {
    const s = await serve();
    const client = new BackendClient({ connect: { host: '127.0.0.1', port: s.port, token: 'wrong' }, maxRestarts: 0 });
    await assert.rejects(client.start(), /missing or wrong backend token/);
    await client.dispose();
    s.child.kill('SIGTERM');
    await s.exited;
  });

  test('TLS: a client that has the CA connects; one without it refuses the certificate', async (t) => {
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    if (made.status !== 0) return t.skip('openssl could not make a certificate');
    const s = await serve(['--tls-cert', cert, '--tls-key', key]);
    try {
      const good = new BackendClient({ connect: { host: '127.0.0.1', port: s.port, token: TOKEN, tls: { ca: readFileSync(cert) } }, maxRestarts: 0 });
      assert.equal((await good.start()).modelsByName, true);
      await good.dispose();
      const bad = new BackendClient({ connect: { host: '127.0.0.1', port: s.port, token: TOKEN, tls: {} }, maxRestarts: 0 });
      await assert.rejects(bad.start(), /self-signed certificate/);
      await bad.dispose();
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});

describe('attribution over several serve processes', () => {
  test('three backends, one SIGKILLed after its first request: the run completes with the attribution of one backend and of in-process', async () => {
    let victimKilled = false;
    const victim = await serve([], undefined, (e, s) => {
      if (e.event === 'request' && !victimKilled) {
        victimKilled = true;
        s.child.kill('SIGKILL');
      }
    });
    const others = [await serve(), await serve()];
    const url = (s: Serve) => `tcp://127.0.0.1:${s.port}`;
    const env = { AGENTCHORD_BACKEND_TOKEN: TOKEN };
    const run = (dir: string, backends: Serve[]) =>
      runCliEnv(['run', dir, '--json', ...backends.flatMap((b) => ['--backend', url(b)])], env);

    const pooledDir = system();
    // The victim first: an idle pool sends work to the first backend listed, so it gets requests and then dies.
    const pooled = await run(pooledDir, [victim, ...others]);
    assert.equal(pooled.code, 0, pooled.stderr);
    assert.equal(victimKilled, true);
    assert.equal((await victim.exited).signal, 'SIGKILL');
    assert.match(pooled.stderr, new RegExp(`backend ${url(victim)} failed`));

    const singleDir = system();
    const single = await run(singleDir, [others[0]]);
    assert.equal(single.code, 0, single.stderr);
    const localDir = system();
    const local = await runCliEnv(['run', localDir, '--json'], {});
    assert.equal(local.code, 0, local.stderr);

    const attribution = (dir: string) => records(join(runDir(dir), 'attribution.jsonl'));
    const pooledAttr = attribution(pooledDir);
    assert.equal(pooledAttr.length, 8 * 4, 'four calls per sample');
    assert.ok(pooledAttr.filter((a) => a.status === 'ok').length === 8, 'the answerer of every sample was attributed');
    const core = (rows: Array<Record<string, unknown>>) => rows.map((a) => ({ callId: a.callId, status: a.status, weights: a.weights, logProb: a.logProb, tokens: a.tokens }));
    assert.deepEqual(core(pooledAttr), core(attribution(singleDir)));
    assert.deepEqual(core(pooledAttr), core(attribution(localDir)));
    // Byte for byte: the same lines in the same order (attribution.jsonl holds no timings).
    assert.equal(readFileSync(join(runDir(pooledDir), 'attribution.jsonl'), 'utf8'), readFileSync(join(runDir(singleDir), 'attribution.jsonl'), 'utf8'));
    // Apart from timings, the run id and the system's own folder (each run here has a copy of its own).
    const calls = (dir: string) =>
      readFileSync(join(runDir(dir), 'calls.jsonl'), 'utf8')
        .replaceAll(dir, '<system>')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map(({ startedAt: _s, durationMs: _d, runId: _r, ...rest }) => rest);
    assert.deepEqual(calls(pooledDir), calls(singleDir));

    for (const s of others) {
      s.child.kill('SIGTERM');
      assert.equal((await s.exited).code, 0);
    }
  });
});

function runCliEnv(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: cacheDir, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
