// `agentchord init` as a process: the offline template runs at once with real connection weights (no key, no
// network); the endpoint template names its surrogate by repository id; nothing is overwritten.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../backend/server/helpers';
import { runCli } from './runCli';

const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-init-'));
let cli: string;
before(async () => {
  cli = await buildCli();
  delete process.env.AGENTCHORD_MODELS;
  delete process.env.OPENAI_API_KEY;
});
const run = (args: string[]) => runCli(cli, args, join(work, 'cache'));

describe('agentchord init', { timeout: 300_000 }, () => {
  test('offline: init then run gives attribution status ok for the answerer on the embedded model', async () => {
    const dir = join(work, 'first');
    const init = await run(['init', dir]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /created a offline system .*\nnext: cd .* && agentchord run/);
    const validate = await run(['validate', dir]);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const ran = await run(['run', dir]);
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    const runs = join(dir, '.agentchord', 'runs');
    const [id] = readdirSync(runs);
    const attributions = readFileSync(join(runs, id, 'attribution.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const answerer = attributions.filter((a) => /\/answerer\//.test(a.callId));
    assert.equal(answerer.length, 2);
    for (const a of answerer) {
      assert.equal(a.status, 'ok', JSON.stringify(a));
      assert.equal(a.attributionModel, 'retrieval');
      assert.deepEqual(Object.keys(a.weights).sort(), ['agent:checker', 'agent:planner', 'agent:scout']);
      assert.ok(Object.values(a.weights as Record<string, number>).every((w) => Number.isFinite(w) && w > 0));
    }
    assert.match(ran.stdout, /attribution {2}2 weighted, 6 single-block, 0 unavailable/);
  });

  test('endpoint: the surrogate by repository id, and validate says how to pull it', async () => {
    const dir = join(work, 'endpoint');
    const init = await run(['init', dir, '--template', 'endpoint', '--name', 'mine']);
    assert.equal(init.code, 0, init.stderr);
    const yaml = readFileSync(join(dir, 'agentchord.yaml'), 'utf8');
    assert.match(yaml, /agentchord model pull Qwen\/Qwen3-0\.6B/);
    assert.match(yaml, /^ {4}path: Qwen\/Qwen3-0\.6B/m);
    assert.match(yaml, /^name: "mine"$/m);
    const validate = await run(['validate', dir]);
    assert.match(validate.stdout + validate.stderr, /agentchord\.yaml:\d+:\d+.*run: agentchord model pull Qwen\/Qwen3-0\.6B/);
  });

  test('refuses to overwrite, writing nothing; a bad template is a usage error', async () => {
    const dir = join(work, 'taken');
    mkdirSync(join(dir, 'prompts'), { recursive: true });
    writeFileSync(join(dir, 'README.md'), 'mine\n');
    const init = await run(['init', dir]);
    assert.equal(init.code, 1);
    assert.match(init.stderr, /README\.md already exists; nothing was written/);
    assert.deepEqual(readdirSync(dir).sort(), ['README.md', 'prompts']);
    assert.equal(existsSync(join(dir, 'agentchord.yaml')), false);
    const bad = await run(['init', join(work, 'bad'), '--template', 'cloud']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--template: expected offline or endpoint, got 'cloud'/);
  });
});
