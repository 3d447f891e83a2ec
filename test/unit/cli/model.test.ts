// `agentchord model pull|list|rm` as a process against a local hub (HF_ENDPOINT), then `agentchord attribute` on the
// pulled folder of the real chord-retrieval model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../backend/server/helpers';
import { repoPath } from '../repo';
import { filesOfFolder, HubTestServer } from '../../support/hubTestServer';
import { runCli } from './runCli';

const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-model-'));
const cache = join(work, 'cache');
const models = join(cache, 'models');
let cli: string;
let hub: HubTestServer;
before(async () => {
  cli = await buildCli();
  hub = await HubTestServer.start();
  const files = filesOfFolder(repoPath('models/chord-retrieval'));
  hub.addRepo('agentchord/chord-retrieval', files);
  hub.addRepo('agentchord/gated', files, { gated: true });
  hub.addRepo('state-spaces/mamba-tiny', { 'config.json': JSON.stringify({ architectures: ['MambaForCausalLM'], model_type: 'mamba' }), 'model.safetensors': files['model.safetensors'] });
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_TOKEN;
  delete process.env.AGENTCHORD_MODELS;
});
after(() => hub.close());
const run = (args: string[]) => runCli(cli, args, cache);

describe('agentchord model', { timeout: 300_000 }, () => {
  test('pull into the cache ($AGENTCHORD_CACHE/models), list, then attribute on the pulled folder, then rm', async () => {
    const pulled = await run(['model', 'pull', 'agentchord/chord-retrieval']);
    assert.equal(pulled.code, 0, pulled.stderr);
    const dir = join(models, 'agentchord', 'chord-retrieval', 'main');
    assert.match(pulled.stdout, new RegExp(`agentchord/chord-retrieval@main .*: 4 files, 1\\.0 MB in ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    // Not a terminal: plain lines, one per file, no carriage returns.
    assert.match(pulled.stderr, /^ {2}model\.safetensors \(1\.0 MB\)$/m);
    assert.ok(!pulled.stderr.includes('\r'));

    const list = await run(['model', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /agentchord\/chord-retrieval\s+main\s+1\.0 MB\s+agentchord\/chord-retrieval\/main/);

    // chord-retrieval's vocabulary has 512 ids.
    const request = join(work, 'request.json');
    writeFileSync(request, JSON.stringify({ inputIds: [1, 5, 6, 7, 8], prefixLength: 1, targetStart: 3, spans: [{ id: 'a', start: 1, end: 3 }] }));
    const attributed = await run(['attribute', '--model', dir, '--request', request, '--device', 'cpu']);
    assert.equal(attributed.code, 0, attributed.stderr);
    const result = JSON.parse(attributed.stdout);
    assert.ok(Number.isFinite(result.logProb) && result.logProb < 0);
    assert.equal(result.tokens.length, 4);
    assert.ok(result.connections.a.meanL1 > 0);

    // --model also takes the repository id of a pulled model.
    const byId = await run(['attribute', '--model', 'agentchord/chord-retrieval', '--request', request, '--device', 'cpu']);
    assert.equal(byId.code, 0, byId.stderr);
    assert.deepEqual(JSON.parse(byId.stdout), result);

    const removed = await run(['model', 'rm', 'agentchord/chord-retrieval']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(dir), false);
    const again = await run(['model', 'rm', 'agentchord/chord-retrieval']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not in .*agentchord model list/);
    const unpulled = await run(['attribute', '--model', 'agentchord/chord-retrieval', '--request', request]);
    assert.equal(unpulled.code, 2);
    assert.match(unpulled.stderr, /--model: agentchord\/chord-retrieval is neither a folder nor a pulled model .*run: agentchord model pull agentchord\/chord-retrieval/);
  });

  test('a gated model: exit 1 saying to accept the licence and set HF_TOKEN; with HF_TOKEN it pulls, and the token is never printed', async () => {
    const denied = await run(['model', 'pull', 'agentchord/gated']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /agentchord: model pull: agentchord\/gated: access denied \(HTTP 401.*accept the model's licence on .*set HF_TOKEN/);
    process.env.HF_TOKEN = hub.token;
    try {
      const ok = await run(['model', 'pull', 'agentchord/gated', '--include', 'tokenizer*.json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(!(ok.stdout + ok.stderr).includes(hub.token));
      assert.ok(existsSync(join(models, 'agentchord', 'gated', 'main', 'tokenizer_config.json')));
      assert.equal(existsSync(join(models, 'agentchord', 'gated', 'main', 'model.safetensors')), false);
      assert.ok(hub.requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined));
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  test('errors: unsupported architecture, missing revision, bad usage', async () => {
    const mamba = await run(['model', 'pull', 'state-spaces/mamba-tiny']);
    assert.equal(mamba.code, 1);
    assert.match(mamba.stderr, /cannot run this model \(MambaForCausalLM.*No weights were downloaded/);
    const revision = await run(['model', 'pull', 'agentchord/chord-retrieval', '--revision', 'nope']);
    assert.equal(revision.code, 1);
    assert.match(revision.stderr, /revision "nope" not found/);
    const usage = await run(['model', 'pull', 'not a repo']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /'not a repo' is not a repository id/);
    const sub = await run(['model', 'fetch']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /expected pull, list, rm \(got 'fetch'\)/);
  });
});
