/** `agentchord eval tau-retail --replay-gt`: the JSON contract, the text summary, the default data folder, errors. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { evalCommand } from '../../../../src/cli/commands/eval';
import { defaultTauRetailDataDir } from '../../../../src/cli/commands/eval/tau-retail';
import { CliError } from '../../../../src/cli/cliError';
import { repoPath, sharedPath } from '../../repo';

const DATA = repoPath('examples/tau-retail/data');

/** Runs `agentchord eval …` in-process; returns the exit code and stdout. */
async function runEval(...args: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const originalOut = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => chunks.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    const code = await evalCommand.run(args);
    return { code, stdout: chunks.join('') };
  } finally {
    process.stdout.write = originalOut;
  }
}

let temp: string;
before(() => {
  temp = mkdtempSync(join(tmpdir(), 'agentchord-tau-'));
});
after(() => rmSync(temp, { recursive: true, force: true }));

describe('agentchord eval tau-retail', () => {
  test('--replay-gt --split dev --json prints the contract: tau-bench’s observations, action reward 1', async () => {
    const { code, stdout } = await runEval('tau-retail', '--replay-gt', '--split', 'dev', '--json', '--data', DATA);
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.deepEqual(Object.keys(result), ['tasks']);
    const truth = JSON.parse(readFileSync(sharedPath('data/taubench/retail/retail_gt_dev.json'), 'utf8')) as Array<{ observations: string[] }>;
    assert.equal(result.tasks.length, 20);
    result.tasks.forEach((t: { taskIndex: number; observations: string[]; actionReward: number }, i: number) => {
      assert.deepEqual(Object.keys(t), ['taskIndex', 'observations', 'actionReward']);
      assert.equal(t.taskIndex, i);
      assert.deepEqual(t.observations, truth[i].observations);
      assert.equal(t.actionReward, 1);
    });
  });

  test('without --json: a summary line per fact', async () => {
    const { code, stdout } = await runEval('tau-retail', '--replay-gt', '--split', 'train', '--data', DATA);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      `tau-bench retail, train split (${DATA}): 500 tasks, 768 ground-truth actions replayed (20 observed an error, as in tau-bench)\n` +
        'action reward 1 on 500 of 500 tasks\n',
    );
  });

  test('bad usage and bad data are one-line errors naming the option', async () => {
    await assert.rejects(runEval('tau-retail', '--split', 'dev'), (err: CliError) => err instanceof CliError && /give exactly one of --run <run dir>, --predictions <file>, --replay-gt/.test(err.message));
    await assert.rejects(runEval('tau-retail', '--replay-gt'), /--split must be one of train, dev, test$/);
    await assert.rejects(runEval('tau-retail', '--replay-gt', '--split', 'validation'), /--split must be one of train, dev, test \(got 'validation'\)/);
    await assert.rejects(runEval('tau-retail', '--replay-gt', '--split', 'dev', '--data', temp), /eval tau-retail: --data: .*orders\.json: cannot read: ENOENT/);
    await assert.rejects(runEval('tau-retail', '--replay-gt', '--split', 'dev', '--bogus'), /eval tau-retail: Unknown option '--bogus'/);
  });

  test('the installed CLI (dist/cli.js) finds examples/tau-retail/data beside dist/', async () => {
    assert.equal(defaultTauRetailDataDir(repoPath('dist')), DATA);
    const cli = join(temp, 'dist', 'cli.js');
    await build({
      entryPoints: [repoPath('src/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: cli,
      external: ['vscode', 'onnxruntime-node', 'esbuild'],
      logLevel: 'silent',
    });
    symlinkSync(repoPath('examples'), join(temp, 'examples'));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8', env: { ...process.env, NODE_PATH: repoPath('node_modules'), ORT_DISABLE_TELEMETRY: '1' } });
    const ok = run('tau-retail', '--replay-gt', '--split', 'test', '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as { tasks: Array<{ observations: string[]; actionReward: number }> };
    assert.equal(result.tasks.length, 115);
    assert.equal(result.tasks.reduce((n, t) => n + t.observations.length, 0), 582); // the note: 582 test observations
    assert.ok(result.tasks.every((t) => t.actionReward === 1));
    const missing = run('tau-retail', '--split', 'dev');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'agentchord: eval tau-retail: give exactly one of --run <run dir>, --predictions <file>, --replay-gt\n');
    const help = run('tau-retail', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /agentchord eval tau-retail --replay-gt --split train\|dev\|test/);
  });
});
