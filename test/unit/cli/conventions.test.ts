// CLI conventions as a user meets them: --version, the shared option parser everywhere (validate too), --no-cache,
// `cache info|clear`, `compare` and `report --compare`, and the packed tarball's contents.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAITestServer, reply } from '../../support/openaiTestServer';
import { buildCli } from '../backend/server/helpers';
import { fixtureSystem } from '../core/engine/helpers';
import { repoPath } from '../repo';
import { runCli } from './runCli';

const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-conventions-'));
let cli: string;
before(async () => {
  cli = await buildCli();
});
const run = (args: string[], cache = join(work, 'graphs')) => runCli(cli, args, cache);

describe('CLI conventions', () => {
  test('--version prints the package version; the usage mentions it', async () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `agentchord ${pkg.version}\n`);
    assert.match((await run(['--help'])).stdout, /agentchord --version/);
  });

  test('validate uses the shared option parser: an unknown option exits 2 naming it', async () => {
    const r = await run(['validate', '--jsn']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /validate: Unknown option '--jsn'.*see 'agentchord validate --help'/s);
  });

  test('run --no-cache asks the endpoint again; without it the second run is answered from the cache', async () => {
    const server = await OpenAITestServer.start({ replies: () => reply.text('ok') });
    const fx = fixtureSystem('three-agents', server.baseUrl);
    try {
      const runOnce = async (...flags: string[]) => {
        const r = await run(['run', fx.dir, '--no-attribution', '--split', 'test', ...flags]);
        assert.equal(r.code, 0, r.stderr);
      };
      await runOnce();
      const first = server.completionRequests.length;
      assert.ok(first > 0);
      await runOnce();
      assert.equal(server.completionRequests.length, first, 'cached');
      await runOnce('--no-cache');
      assert.equal(server.completionRequests.length, 2 * first, '--no-cache asked again');

      const info = await run(['cache', 'info', fx.dir]);
      assert.match(info.stdout, /response cache: .*\.agentchord[/\\]cache \(\d+\.\d MB\)/);
      const cleared = await run(['cache', 'clear', fx.dir, '--responses']);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.equal(existsSync(join(fx.dir, '.agentchord', 'cache')), false);
      await runOnce();
      assert.equal(server.completionRequests.length, 3 * first, 'a cleared cache asks again');
    } finally {
      fx.cleanup();
      await server.close();
    }
  });

  test('cache clear --graphs empties the graph cache only (downloaded models beside it stay)', async () => {
    const root = join(work, 'user-cache');
    mkdirSync(join(root, 'graphs'), { recursive: true });
    mkdirSync(join(root, 'models', 'org', 'name'), { recursive: true });
    writeFileSync(join(root, 'graphs', 'x.onnx'), 'x');
    writeFileSync(join(root, 'models', 'org', 'name', 'config.json'), '{}');
    const r = await run(['cache', 'clear', work, '--graphs'], root);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(root, 'graphs')), false);
    assert.ok(existsSync(join(root, 'models', 'org', 'name', 'config.json')));
    assert.equal((await run(['cache', 'empty'])).code, 2);
  });

  test('compare: score changes, blame shift and prompt diffs between two runs; report --compare in the HTML', async () => {
    const trace = repoPath('test/fixtures/traces/genai-openai.otlp.jsonl');
    const verdicts = (name: string, lines: object[]) => {
      const file = join(work, name);
      writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      return file;
    };
    const a = join(work, 'run-a');
    const b = join(work, 'run-b');
    for (const [dir, loss] of [
      [a, verdicts('a.jsonl', [{ traceId: 'b1109f2bbe6bf44889ea650de0bef5ae', loss: 'wrong', score: 0 }, { traceId: '1b2dd7bc21c5fe483d1b1e0f30705e59', loss: '', score: 1 }])],
      [b, verdicts('b.jsonl', [{ traceId: 'b1109f2bbe6bf44889ea650de0bef5ae', loss: '', score: 1 }, { traceId: '1b2dd7bc21c5fe483d1b1e0f30705e59', loss: '', score: 1 }])],
    ]) {
      assert.equal((await run(['import', trace, '--out', dir])).code, 0);
      const blamed = await run(['blame', dir, '--model', repoPath('models/chord-retrieval'), '--device', 'cpu', '--loss', loss]);
      assert.equal(blamed.code, 0, blamed.stderr);
    }
    // A changed prompt in B (as after applying a proposal): edit the writer's system message in its calls.
    const callsB = join(b, 'calls.jsonl');
    writeFileSync(callsB, readFileSync(callsB, 'utf8').replace(/You are the writer\./g, 'You are the writer. Mention when the rain starts.'));

    const text = await run(['compare', a, b]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /samples in both: 2 \(1 better, 0 worse, 1 unchanged\)/);
    assert.match(text.stdout, /b1109f2bbe6bf44889ea650de0bef5ae: 0\.000 -> 1\.000 \(\+1\.000\)/);
    assert.match(text.stdout, /writer\s+100% ->\s+0%\s+\(-100%\)/);
    assert.match(text.stdout, /writer\s+changed [0-9a-f]{12} -> [0-9a-f]{12}/);
    assert.match(text.stdout, /\+You are the writer\. Mention when the rain starts\./);
    const json = JSON.parse((await run(['compare', a, b, '--json'])).stdout) as { prompts: Array<{ agent: string; changed: boolean }> };
    assert.deepEqual(json.prompts.filter((p) => p.changed).map((p) => p.agent), ['writer']);

    const html = join(work, 'compare.html');
    const report = await run(['report', b, '--html', html, '--compare', a]);
    assert.equal(report.code, 0, report.stderr);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<h2>Compared with run [^<]+<\/h2>/);
    assert.match(page, /Mention when the rain starts/);
    assert.equal((await run(['compare', a])).code, 2);
    assert.equal((await run(['report', b, '--compare', a])).code, 2, '--compare goes with --html');
  });

  test('the packed tarball holds what an installed CLI needs (npm pack --dry-run)', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path));
    for (const f of ['bin/agentchord.js', 'dist/cli.js', 'dist/backend.js', 'dist/api.js', 'dist/elk.js', 'models/chord-retrieval/model.safetensors', 'models/chord-retrieval/tokenizer.json', 'package.json', 'README.md']) {
      assert.ok(files.has(f), `${f} is packed`);
    }
    assert.ok(![...files].some((f) => f.includes('.agentchord/') || f.startsWith('src/') || f.startsWith('test/')), 'no run folders, sources or tests');
  });
});
