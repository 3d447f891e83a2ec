import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, downloadModel, modelCacheFolder, type DownloadProgress } from '../../../../src/backend/download/hfDownload';
import { writeRandomModel } from '../../../../src/backend/model/randomModel';
import { readModelConfig } from '../../../../src/backend/model/config';
import { readTensorIndex } from '../../../../src/backend/model/safetensors';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const gitSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

interface Behaviour {
  /** Close the connection after this many body bytes, on the first N requests for the file. */
  dropAfter?: { bytes: number; times: number };
  /** Announce this sha256 instead of the right one. */
  wrongSha256?: boolean;
  /** Serve through a redirect to /cdn/ as the hub does for LFS files (sha256 in X-Linked-Etag on the redirect). */
  lfs?: boolean;
  /** Ignore Range headers (always answer 200 with the whole file). */
  ignoreRange?: boolean;
}

/** A tiny stand-in for the hub: /{repo}/resolve/{revision}/{file}. */
class FakeHub {
  readonly files = new Map<string, Buffer>();
  readonly behaviour = new Map<string, Behaviour>();
  readonly log: Array<{ path: string; range?: string; auth?: string }> = [];
  private server!: Server;
  /** Requests answered per file, for dropAfter. */
  readonly served = new Map<string, number>();
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    const path = decodeURIComponent(new URL(req.url!, this.url).pathname);
    this.log.push({ path, range: req.headers.range, auth: req.headers.authorization });
    const cdn = path.startsWith('/cdn/');
    const key = cdn ? path.slice('/cdn/'.length) : path.replace(/^\/(.+?)\/resolve\/[^/]+\//, '$1/');
    const data = this.files.get(key);
    if (!data) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    const b = this.behaviour.get(key) ?? {};
    const announced = b.wrongSha256 ? sha256(Buffer.from('something else')) : sha256(data);
    if (b.lfs && !cdn) {
      res.writeHead(302, { location: `/cdn/${key}`, 'x-linked-etag': `"${announced}"`, 'x-linked-size': String(data.length), etag: `"${announced}"` }).end();
      return;
    }
    const headers: Record<string, string> = {};
    if (!b.lfs) headers.etag = b.wrongSha256 ? `"${announced}"` : `"${gitSha1(data)}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !b.ignoreRange) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    headers['content-length'] = String(body.length);
    res.writeHead(start > 0 || headers['content-range'] ? 206 : 200, headers);
    const count = (this.served.get(key) ?? 0) + 1;
    this.served.set(key, count);
    if (b.dropAfter && count <= b.dropAfter.times) {
      res.write(body.subarray(0, b.dropAfter.bytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}

const repo = 'tiny-org/tiny-model';

describe('downloadModel (against a local server)', () => {
  const hub = new FakeHub();
  let modelDir = '';
  before(async () => {
    await hub.start();
    modelDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-src-'));
    writeRandomModel(modelDir, { arch: 'qwen2', hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 128, vocabSize: 512, seed: 5 });
    for (const f of readdirSync(modelDir)) hub.files.set(`${repo}/${f}`, readFileSync(join(modelDir, f)));
    hub.behaviour.set(`${repo}/model.safetensors`, { lfs: true });
  });
  after(() => hub.stop());

  test('fetches config, tokenizer and weights into cacheDir/<repo>/<revision>, with progress and the token', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    const progress: DownloadProgress[] = [];
    hub.log.length = 0;
    const folder = await downloadModel({ repo, cacheDir, endpoint: hub.url, token: 'hf_secret', onProgress: (p) => progress.push(p) });
    assert.equal(folder, join(cacheDir, 'tiny-org', 'tiny-model', 'main'));
    assert.equal(folder, modelCacheFolder(cacheDir, repo));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors']) {
      assert.deepEqual(readFileSync(join(folder, f)), readFileSync(join(modelDir, f)), f);
    }
    assert.equal(existsSync(join(folder, 'chat_template.jinja')), false, 'optional file absent upstream');
    assert.ok(!readdirSync(folder).some((f) => f.endsWith('.partial')));
    assert.equal(readModelConfig(folder).modelType, 'qwen2');
    const weights = progress.filter((p) => p.file === 'model.safetensors');
    const size = readFileSync(join(modelDir, 'model.safetensors')).length;
    assert.equal(weights.at(-1)!.receivedBytes, size);
    assert.equal(weights.at(-1)!.totalBytes, size);
    for (let i = 1; i < weights.length; i++) assert.ok(weights[i].receivedBytes >= weights[i - 1].receivedBytes);
    assert.ok(hub.log.filter((r) => r.path.includes('/resolve/')).every((r) => r.auth === 'Bearer hf_secret'));
    assert.ok(hub.log.some((r) => r.path.startsWith('/cdn/')), 'followed the LFS redirect');

    // A second call finds everything in place and fetches nothing.
    hub.log.length = 0;
    await downloadModel({ repo, cacheDir, endpoint: hub.url });
    assert.deepEqual(hub.log.map((r) => r.path), ['/tiny-org/tiny-model/resolve/main/chat_template.jinja', '/tiny-org/tiny-model/resolve/main/model.safetensors.index.json']);
  });

  test('resumes with a Range request after the connection drops mid-file', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    const key = `${repo}/model.safetensors`;
    hub.behaviour.set(key, { lfs: true, dropAfter: { bytes: 5000, times: 2 } });
    hub.served.delete(key);
    hub.log.length = 0;
    try {
      const folder = await downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['model.safetensors'] });
      assert.deepEqual(readFileSync(join(folder, 'model.safetensors')), hub.files.get(key));
      const ranges = hub.log.filter((r) => r.path === `/cdn/${key}`).map((r) => r.range);
      assert.deepEqual(ranges, [undefined, 'bytes=5000-', 'bytes=10000-']);
    } finally {
      hub.behaviour.set(key, { lfs: true });
    }
  });

  test('resumes a .partial left by an earlier run, and restarts when the server ignores Range', async () => {
    const key = `${repo}/tokenizer.json`;
    const data = hub.files.get(key)!;
    for (const ignoreRange of [false, true]) {
      const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
      const folder = modelCacheFolder(cacheDir, repo);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'tokenizer.json.partial'), data.subarray(0, 1234));
      hub.behaviour.set(key, { ignoreRange });
      hub.log.length = 0;
      try {
        await downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['tokenizer.json'] });
      } finally {
        hub.behaviour.delete(key);
      }
      assert.deepEqual(readFileSync(join(folder, 'tokenizer.json')), data);
      assert.equal(hub.log[0].range, 'bytes=1234-');
    }
  });

  test('a bad checksum fails and leaves neither the file nor its .partial', async () => {
    for (const lfs of [true, false]) {
      const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
      hub.behaviour.set(`${repo}/config.json`, { wrongSha256: true, lfs });
      try {
        await assert.rejects(
          downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['config.json'] }),
          (e: Error) => e instanceof DownloadError && /checksum mismatch for "config.json"/.test(e.message),
        );
      } finally {
        hub.behaviour.delete(`${repo}/config.json`);
      }
      assert.deepEqual(readdirSync(modelCacheFolder(cacheDir, repo)), []);
    }
    // An expected sha256 passed in is checked too.
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    await assert.rejects(downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['config.json'], sha256: { 'config.json': '0'.repeat(64) } }), /checksum mismatch.*expected sha256/);
    assert.equal(existsSync(join(modelCacheFolder(cacheDir, repo), 'config.json')), false);
    const good = sha256(hub.files.get(`${repo}/config.json`)!);
    await downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['config.json'], sha256: { 'config.json': good } });
  });

  test('sharded weights: the index brings its shards', async () => {
    const sharded = mkdtempSync(join(tmpdir(), 'agentchord-dl-src-'));
    writeRandomModel(sharded, { arch: 'llama', hiddenSize: 32, numLayers: 2, numHeads: 2, numKvHeads: 2, intermediateSize: 64, vocabSize: 300, seed: 1, shards: 3 });
    const shardedRepo = 'tiny-org/sharded';
    for (const f of readdirSync(sharded)) hub.files.set(`${shardedRepo}/${f}`, readFileSync(join(sharded, f)));
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    const folder = await downloadModel({ repo: shardedRepo, revision: 'v1.0', cacheDir, endpoint: hub.url });
    assert.equal(folder, join(cacheDir, 'tiny-org', 'sharded', 'v1.0'));
    assert.equal(new Set([...readTensorIndex(folder).values()].map((t) => t.file)).size, 3);
    assert.equal(existsSync(join(folder, 'model.safetensors')), false);
  });

  test('errors: a missing file is named; an unreachable endpoint is named; bad repo names are refused', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    await assert.rejects(
      downloadModel({ repo: 'tiny-org/absent', cacheDir, endpoint: hub.url }),
      (e: Error) => e instanceof DownloadError && e.message.includes('"config.json" not found') && e.message.includes('404'),
    );
    await assert.rejects(downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['nope.bin'] }), /"nope.bin" not found/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      downloadModel({ repo, cacheDir, endpoint: `http://127.0.0.1:${deadPort}`, retries: 1 }),
      (e: Error) => e instanceof DownloadError && e.message.includes(`http://127.0.0.1:${deadPort}`),
    );
    await assert.rejects(downloadModel({ repo: '../etc', cacheDir, endpoint: hub.url }), /invalid repository name/);
    await assert.rejects(downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['../x'] }), /invalid file name/);
  });

  test('cancelling keeps the .partial for a later resume', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-dl-'));
    const key = `${repo}/model.safetensors`;
    const controller = new AbortController();
    await assert.rejects(
      downloadModel({
        repo,
        cacheDir,
        endpoint: hub.url,
        files: ['model.safetensors'],
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedBytes > 0) controller.abort();
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    const folder = modelCacheFolder(cacheDir, repo);
    assert.equal(existsSync(join(folder, 'model.safetensors')), false);
    assert.ok(existsSync(join(folder, 'model.safetensors.partial')));
    await downloadModel({ repo, cacheDir, endpoint: hub.url, files: ['model.safetensors'] });
    assert.deepEqual(readFileSync(join(folder, 'model.safetensors')), hub.files.get(key));
  });
});
