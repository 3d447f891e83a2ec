/** `agentchord eval multiwoz`: the JSON contract, the text table, the default data folder and error reporting. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { evalCommand } from '../../../../src/cli/commands/eval';
import { defaultMultiwozDataDir } from '../../../../src/cli/commands/eval/multiwoz';
import { CliError } from '../../../../src/cli/cliError';
import { repoPath, sharedPath } from '../../repo';

const DATA = repoPath('examples/multiwoz/data');

/** Runs `agentchord eval …` in-process; returns the exit code and stdout. */
async function runEval(...args: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const originalOut = process.stdout.write;
  const originalErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => chunks.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await evalCommand.run(args);
    return { code, stdout: chunks.join('') };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
  }
}

let temp: string;
let handMade: string;
before(() => {
  temp = mkdtempSync(join(tmpdir(), 'agentchord-eval-'));
  handMade = join(temp, 'predictions.json');
  writeFileSync(
    handMade,
    JSON.stringify({
      pmul4648: [
        { response: '[attraction_name] is at [attraction_address] [attraction_postcode]', state: { attraction: { name: 'nusha' } }, active_domains: ['attraction'] },
        { response: 'try [restaurant_name]', state: { restaurant: { food: 'indian', area: 'centre', pricerange: 'expensive' } }, active_domains: ['restaurant'] },
      ],
    }),
  );
});
after(() => rmSync(temp, { recursive: true, force: true }));

describe('agentchord eval multiwoz', () => {
  test('--json prints the contract: AuGPT’s published Inform/Success and its DST on 2.1 labels', async () => {
    const { code, stdout } = await runEval('multiwoz', '--predictions', sharedPath('data/multiwoz/reference/augpt.json'), '--json', '--data', DATA);
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.deepEqual(Object.keys(result), ['inform', 'success', 'dst']);
    assert.deepEqual(Object.keys(result.inform), ['total', 'restaurant', 'hotel', 'attraction', 'train', 'taxi']);
    assert.deepEqual(result.inform, { total: 76.6, restaurant: 82.6, hotel: 74.6, attraction: 87.1, train: 97.2, taxi: 100 });
    assert.deepEqual(result.success, { total: 60.5, restaurant: 61.1, hotel: 59.4, attraction: 60.1, train: 79.4, taxi: 71.3 });
    assert.deepEqual(result.dst, {
      jointAccuracy: 38.38849701573469,
      slotF1: 70.94336808378216,
      slotPrecision: 0.7172869600180918,
      slotRecall: 0.7017505040074723,
    });
  });

  test('without --json: a table and a DST line', async () => {
    const { code, stdout } = await runEval('multiwoz', '--predictions', handMade, '--data', DATA);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], `MultiWOZ: 1 dialogue from ${handMade}`);
    assert.deepEqual(lines[1].trim().split(/\s+/), ['total', 'restaurant', 'attraction']);
    assert.deepEqual(lines[2].trim().split(/\s+/), ['Inform', '100.0', '100.0', '100.0']);
    // The restaurant's address was never given: success fails for it and in total.
    assert.deepEqual(lines[3].trim().split(/\s+/), ['Success', '0.0', '0.0', '100.0']);
    assert.match(lines[4], /^DST \(MultiWOZ 2\.1 labels\): joint accuracy \d+\.\d\d %, slot F1 \d+\.\d\d %, precision 0\.\d{4}, recall 0\.\d{4}$/);
  });

  test('bad usage and bad input are one-line errors naming the option or file', async () => {
    await assert.rejects(runEval('multiwoz', '--json'), (err: CliError) => err instanceof CliError && /--predictions <file> is required/.test(err.message));
    await assert.rejects(runEval('multiwoz', '--predictions', join(temp, 'missing.json')), /--predictions: cannot read .*missing\.json: ENOENT/);
    const bad = join(temp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ pmul4648: [{ response: 1 }] }));
    await assert.rejects(runEval('multiwoz', '--predictions', bad, '--data', DATA), /bad\.json: dialogue 'pmul4648', turn 0: "response" must be a string/);
    await assert.rejects(runEval('multiwoz', '--predictions', handMade, '--data', temp), /--data: .*goals_test\.json: cannot read/);
    await assert.rejects(runEval('nosuch'), /unknown benchmark 'nosuch' \(known: multiwoz, tau-retail\)/);
    await assert.rejects(runEval('multiwoz', '--predictions', handMade, '--bogus'), /eval multiwoz: Unknown option '--bogus'/);
  });

  test('the installed CLI (dist/cli.js) finds examples/multiwoz/data beside dist/', async () => {
    assert.equal(defaultMultiwozDataDir(repoPath('dist')), DATA);
    // An installation in miniature: <temp>/dist/cli.js and <temp>/examples → the repository's examples.
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
      spawnSync(process.execPath, [cli, 'eval', ...args], {
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: repoPath('node_modules'), ORT_DISABLE_TELEMETRY: '1' },
      });
    const ok = run('multiwoz', '--predictions', handMade, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const result = JSON.parse(ok.stdout);
    assert.deepEqual(result.inform, { total: 100, restaurant: 100, attraction: 100 });
    assert.deepEqual(Object.keys(result.dst), ['jointAccuracy', 'slotF1', 'slotPrecision', 'slotRecall']);
    const missing = run('multiwoz');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'agentchord: eval multiwoz: --predictions <file> is required\n');
    const help = run('multiwoz', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: agentchord eval multiwoz --predictions <file>/);
  });
});
