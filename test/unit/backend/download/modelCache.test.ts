// pullModel / listPulledModels / removePulledModel against a local hub (test/support/hubTestServer.ts) serving the
// real chord-retrieval files: listing, LFS redirect to another origin, gated repos, faults, unsupported architectures.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, type DownloadProgress } from '../../../../src/backend/download/hfDownload';
import { listPulledModels, pullModel, removePulledModel } from '../../../../src/backend/download/modelCache';
import { modelFolder, PULL_RECORD } from '../../../../src/shared/modelCache';
import { filesOfFolder, HubTestServer } from '../../../support/hubTestServer';
import { repoPath } from '../../repo';

const CHORD = filesOfFolder(repoPath('models/chord-retrieval'));
const REPO = 'agentchord/chord-retrieval';
let hub: HubTestServer;
let models: string;

before(async () => {
  hub = await HubTestServer.start();
  hub.addRepo(REPO, CHORD, { revisions: ['main', 'v1'] });
  hub.addRepo('agentchord/gated', CHORD, { gated: true });
  const mamba = { architectures: ['MambaForCausalLM'], model_type: 'mamba', hidden_size: 64, vocab_size: 512 };
  hub.addRepo('state-spaces/mamba-tiny', { 'config.json': JSON.stringify(mamba), 'model.safetensors': CHORD['model.safetensors'], 'tokenizer.json': CHORD['tokenizer.json'] });
  hub.addRepo('agentchord/bin-only', { 'config.json': CHORD['config.json'], 'pytorch_model.bin': Buffer.alloc(100) });
});
after(() => hub.close());
beforeEach(() => {
  models = mkdtempSync(join(tmpdir(), 'agentchord-models-'));
  process.env.AGENTCHORD_MODELS = models;
  hub.requests.length = 0;
  hub.cuts.clear();
  hub.corrupt.clear();
});

describe('pullModel', () => {
  test('fetches the default files into the cache folder, verified, and records the pull', async () => {
    const progress: DownloadProgress[] = [];
    const result = await pullModel({ repo: REPO, endpoint: hub.url, onProgress: (p) => progress.push(p) });
    const dir = join(models, 'agentchord', 'chord-retrieval', 'main');
    assert.equal(result.dir, dir);
    assert.equal(result.dir, modelFolder(REPO));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) assert.deepEqual(readFileSync(join(dir, f)), CHORD[f], f);
    // Not in the default includes: the README, licences and the cases file stay on the hub.
    assert.deepEqual(readdirSync(dir).sort(), [PULL_RECORD, 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const record = JSON.parse(readFileSync(join(dir, PULL_RECORD), 'utf8'));
    assert.equal(record.repo, REPO);
    assert.equal(record.bytes, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'].reduce((n, f) => n + CHORD[f].length, 0));
    // config.json first, before any weights; the weights came from the CDN.
    const files = hub.fileRequests().map((r) => `${r.server}:${r.path.split('/').at(-1)}`);
    assert.equal(files[0], 'hub:config.json');
    assert.ok(files.includes('cdn:model.safetensors'));
    const weights = progress.filter((p) => p.file === 'model.safetensors');
    assert.equal(weights.at(-1)!.receivedBytes, CHORD['model.safetensors'].length);
    assert.deepEqual(listPulledModels().map((m) => [m.repo, m.revision, m.complete]), [[REPO, 'main', true]]);
  });

  test('a gated repo: 401 without a token says to accept the licence and set HF_TOKEN; with it, the token never reaches the CDN', async () => {
    await assert.rejects(pullModel({ repo: 'agentchord/gated', endpoint: hub.url }), (e: Error) => {
      assert.ok(e instanceof DownloadError && e.status === 401, e.message);
      assert.match(e.message, /accept the model's licence on http:\/\/127\.0\.0\.1:\d+\/agentchord\/gated/);
      assert.match(e.message, /HF_TOKEN/);
      return true;
    });
    await assert.rejects(pullModel({ repo: 'agentchord/gated', endpoint: hub.url, token: 'hf_wrong_token' }), (e: Error) => {
      assert.ok(e instanceof DownloadError && e.status === 403);
      assert.ok(!e.message.includes('hf_wrong_token'), 'the token is never in a message');
      return /no access/.test(e.message);
    });
    assert.equal(hub.fileRequests().length, 0);
    assert.equal(existsSync(join(models, 'agentchord', 'gated')), false);

    hub.requests.length = 0;
    const result = await pullModel({ repo: 'agentchord/gated', endpoint: hub.url, token: hub.token });
    assert.deepEqual(readFileSync(join(result.dir, 'model.safetensors')), CHORD['model.safetensors']);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.ok(cdn.length > 0);
    assert.ok(cdn.every((r) => r.authorization === undefined), 'no token to the CDN host');
    assert.ok(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${hub.token}`));
  });

  test('404: a missing repository and a missing revision are told apart', async () => {
    await assert.rejects(pullModel({ repo: 'nobody/nothing', endpoint: hub.url, token: 'hf_x' }), /nobody\/nothing: repository not found at http/);
    await assert.rejects(pullModel({ repo: 'nobody/nothing', endpoint: hub.url }), /repository not found.*if it is private, set HF_TOKEN/);
    await assert.rejects(pullModel({ repo: REPO, revision: 'v9', endpoint: hub.url }), /revision "v9" not found/);
    const v1 = await pullModel({ repo: REPO, revision: 'v1', endpoint: hub.url });
    assert.equal(v1.dir, join(models, 'agentchord', 'chord-retrieval', 'v1'));
  });

  test('an unsupported architecture is refused after config.json: no weights fetched, nothing left', async () => {
    await assert.rejects(pullModel({ repo: 'state-spaces/mamba-tiny', endpoint: hub.url }), (e: Error) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /cannot run this model \(MambaForCausalLM, model_type "mamba"\)/);
      assert.match(e.message, /supported model types: llama, qwen2, qwen3, mistral/);
      return true;
    });
    assert.deepEqual(hub.fileRequests().map((r) => r.path.split('/').at(-1)), ['config.json']);
    assert.equal(existsSync(modelFolder('state-spaces/mamba-tiny')), false);
    await assert.rejects(pullModel({ repo: 'agentchord/bin-only', endpoint: hub.url }), /no \*\.safetensors weights .*pytorch_model\.bin/);
  });

  test('a corrupted download fails the sha256 check and leaves no file', async () => {
    hub.corrupt.add(`${REPO}/model.safetensors`);
    await assert.rejects(pullModel({ repo: REPO, endpoint: hub.url }), /checksum mismatch for "model.safetensors"/);
    const dir = modelFolder(REPO);
    assert.equal(existsSync(join(dir, 'model.safetensors')), false);
    assert.equal(existsSync(join(dir, 'model.safetensors.partial')), false);
    assert.equal(existsSync(join(dir, PULL_RECORD)), false);
    assert.deepEqual(listPulledModels().map((m) => m.complete), [false]);
  });

  test('a connection cut mid-file: the .partial stays, and the next pull resumes it with a Range request', async () => {
    hub.cuts.set(`${REPO}/model.safetensors`, { bytes: 300_000, times: 1 });
    await assert.rejects(pullModel({ repo: REPO, endpoint: hub.url, retries: 0 }), /model.safetensors.*failed after 1 attempts/);
    const dir = modelFolder(REPO);
    assert.ok(existsSync(join(dir, 'model.safetensors.partial')));
    hub.requests.length = 0;
    await pullModel({ repo: REPO, endpoint: hub.url, retries: 0 });
    assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), CHORD['model.safetensors']);
    const ranges = hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range);
    assert.equal(ranges.length, 1);
    assert.match(ranges[0] ?? '', /^bytes=[1-9]\d*-$/);
  });

  test('--include globs replace the defaults; --dir puts the files elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-pull-dir-'));
    const result = await pullModel({ repo: REPO, endpoint: hub.url, include: ['*.md', 'LICENSE*'], dir });
    assert.equal(result.dir, dir);
    assert.deepEqual(readdirSync(dir).sort(), [PULL_RECORD, 'LICENSE', 'LICENSE-llama2.c', 'README.md', 'config.json']);
    assert.deepEqual(listPulledModels(), [], 'nothing in the cache');
  });

  test('rm removes one revision or all, and empty parents', async () => {
    await pullModel({ repo: REPO, endpoint: hub.url, include: ['config.json'] });
    await pullModel({ repo: REPO, revision: 'v1', endpoint: hub.url, include: ['config.json'] });
    assert.deepEqual(listPulledModels().map((m) => m.revision), ['main', 'v1']);
    assert.deepEqual(removePulledModel(REPO, 'v1'), [modelFolder(REPO, 'v1')]);
    assert.deepEqual(listPulledModels().map((m) => m.revision), ['main']);
    assert.equal(removePulledModel(REPO, undefined).length, 1);
    assert.deepEqual(readdirSync(models), []);
    assert.deepEqual(removePulledModel(REPO, undefined), []);
  });
});
