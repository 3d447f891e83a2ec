// `agentchord import`, `blame` and `report` as processes, as a user runs them on a trace they already have.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../backend/server/helpers';
import { repoPath } from '../repo';
import { runCli } from './runCli';

const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-import-'));
let cli: string;
before(async () => {
  cli = await buildCli();
});
const run = (args: string[]) => runCli(cli, args, join(work, 'cache'));
const TRACE = repoPath('test/fixtures/traces/openinference-openai.otlp.jsonl');

describe('agentchord import / blame / report', () => {
  test('import, then blame with a loss file, then report --html: the blame and the heat maps of a recorded trace', async () => {
    const out = join(work, 'run');
    const imported = await run(['import', TRACE, '--out', out]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported 2 trace\(s\), 8 call\(s\)/);
    assert.match(imported.stdout, /hand-offs found: planner -> researcher \(4 blocks\), researcher -> writer \(2 blocks\)/);
    assert.match(imported.stdout, /next: agentchord blame /);
    const calls = readFileSync(join(out, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sampleId: string });
    const traceId = calls[0].sampleId;
    const verdicts = join(work, 'verdicts.jsonl');
    writeFileSync(verdicts, JSON.stringify({ traceId, loss: 'The answer should say when the rain starts.', score: 0 }) + '\n');

    const blamed = await run(['blame', out, '--model', repoPath('models/chord-retrieval'), '--loss', verdicts, '--device', 'cpu']);
    assert.equal(blamed.code, 0, blamed.stderr);
    assert.match(blamed.stdout, /SURROGATE model/);
    assert.match(blamed.stdout, /blame \(share of trajectories through each agent\):\n(.*\n)*\s+writer\s+100%/);
    assert.match(blamed.stdout, /1 trace\(s\) had no verdict: not blamed/);

    const html = join(work, 'report.html');
    const report = await run(['report', out, '--html', html, '--json']);
    assert.equal(report.code, 0, report.stderr);
    const summary = JSON.parse(report.stdout) as { blame: Array<{ agent: string; share: number }>; trajectories: unknown[]; surrogate: boolean };
    assert.equal(summary.blame.find((b) => b.agent === 'writer')?.share, 1);
    assert.ok(summary.trajectories.length > 0);
    assert.equal(summary.surrogate, true);
    assert.match(readFileSync(html, 'utf8'), /Token heat maps/);
  });

  test('--scaffold writes a workspace that validate accepts and optimize proposes prompt changes for', async () => {
    const ws = join(work, 'ws');
    const verdicts = join(work, 'scaffold-verdicts.jsonl');
    writeFileSync(verdicts, JSON.stringify({ traceId: 'f31ada3f5fa898c6129fd57c2d78e8c0', loss: 'The researcher skipped the chance of rain.', score: 0 }) + '\n');
    const imported = await run(['import', TRACE, '--scaffold', ws, '--loss', verdicts]);
    assert.equal(imported.code, 0, imported.stderr);
    const validated = await run(['validate', ws]);
    assert.equal(validated.code, 0, validated.stdout + validated.stderr);
    const optimized = await run(['optimize', ws, '--json']);
    assert.equal(optimized.code, 0, optimized.stderr);
    const result = JSON.parse(optimized.stdout) as { proposals: string[] };
    assert.equal(result.proposals.length, 1);
    const proposal = JSON.parse(readFileSync(result.proposals[0], 'utf8')) as { changes: Array<{ agent: string; file: string }> };
    assert.ok(proposal.changes.length > 0 && proposal.changes.every((c) => c.file.startsWith(join(ws, 'prompts'))));
    assert.match(readFileSync(join(ws, 'prompts', 'planner.chord.md'), 'utf8'), /You are the planner/, 'prompt files are not touched');
  });

  test('blame --model takes a pulled repository id (the model cache folder), and names the pull command when missing', async () => {
    const out = join(work, 'run-by-id');
    assert.equal((await run(['import', TRACE, '--out', out])).code, 0);
    const pulled = join(work, 'cache', 'models', 'test-org', 'chord', 'main');
    cpSync(repoPath('models/chord-retrieval'), pulled, { recursive: true });
    const blamed = await run(['blame', out, '--model', 'test-org/chord', '--device', 'cpu']);
    assert.equal(blamed.code, 0, blamed.stderr);
    assert.match(blamed.stdout, /attribution: test-org\/chord, max_l1_norm/);
    const missing = await run(['blame', out, '--model', 'test-org/absent']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /neither a folder nor a pulled model .*run: agentchord model pull test-org\/absent/);
  });

  test('bad input: exit 2 with the file named, nothing written', async () => {
    const csv = join(work, 'people.csv');
    writeFileSync(csv, 'name,age\n');
    const notTrace = await run(['import', csv, '--out', join(work, 'never')]);
    assert.equal(notTrace.code, 2);
    assert.match(notTrace.stderr, /import: .*people\.csv: not a trace/);
    const noContent = await run(['import', repoPath('test/fixtures/traces/genai-openai-nocontent.otlp.jsonl'), '--out', join(work, 'never')]);
    assert.equal(noContent.code, 2);
    assert.match(noContent.stderr, /content capture off/);
    assert.equal(existsSync(join(work, 'never')), false);
    assert.ok(!readdirSync(work).some((n) => n.includes('importing')));
    assert.equal((await run(['import', TRACE, '--format', 'zipkin'])).code, 2);
    assert.equal((await run(['blame', join(work, 'nope')])).code, 2);
    const noVerdicts = await run(['blame', join(work, 'run'), '--metric', 'contains']);
    assert.equal(noVerdicts.code, 2);
    assert.match(noVerdicts.stderr, /--metric goes with --reference/);
  });
});
