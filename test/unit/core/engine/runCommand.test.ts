// `agentchord run`: in-process, against the local OpenAI test server and a fixture system.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../../../src/cli/commands/run';
import { CliError } from '../../../../src/cli/cliError';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import type { RunManifest } from '../../../../src/core/engine/types';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { fixtureSystem, roleOf, userMessage, type FixtureSystem } from './helpers';

async function run(...args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  // Only our text: the test runner reports through stdout too, in binary chunks, which must go through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await runCommand.run(args);
    return { code, out: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

describe('agentchord run', () => {
  let server: OpenAITestServer;
  let fx: FixtureSystem;
  before(async () => {
    server = await OpenAITestServer.start({ replies: (rq) => reply.text(`${roleOf(rq)} on [${userMessage(rq).split('\n')[1]}]`) });
    fx = fixtureSystem('three-agents', server.baseUrl);
  });
  after(async () => {
    await server.close();
    fx.cleanup();
  });

  test('--json prints the completed manifest; the run folder holds every call', async () => {
    const { code, out } = await run(fx.dir, '--limit', '2', '--concurrency', '1', '--json');
    assert.equal(code, 0);
    const manifest = JSON.parse(out) as RunManifest;
    assert.equal(manifest.status, 'completed');
    assert.equal(manifest.kind, 'run');
    assert.deepEqual(manifest.dataset, { split: 'train', file: fx.system.datasets.train, samples: 2 });
    assert.equal(manifest.usage.calls, 6);
    assert.equal(manifest.attribution.model, undefined);
    const folder = RunFolder.open(`${fx.dir}/.agentchord/runs/${manifest.id}`).read();
    assert.equal(folder.calls.length, 6);
    assert.equal(folder.attribution.length, 6);
    assert.equal(server.completionRequests.length, 6);
  });

  test('the summary names samples, calls, cache hits, cost and the run folder; a re-run is free', async () => {
    const { code, out } = await run(fx.dir, '--limit', '2');
    assert.equal(code, 0);
    assert.equal(server.completionRequests.length, 6, 'answered from the cache');
    assert.match(out, /^Run \S+: completed$/m);
    assert.match(out, /samples +2 \(train, /);
    assert.match(out, /calls +6 \(6 from the cache\)/);
    assert.match(out, /cost +\$0\.0000/);
    assert.match(out, /attribution +0 weighted, 2 single-block, 4 unavailable \(no attribution model/);
    assert.match(out, /run folder +.*\.agentchord[/\\]runs[/\\]/);
  });

  test('bad options and a missing split are clean errors naming the option or field', async () => {
    await assert.rejects(run(fx.dir, '--split', 'dev'), (e: unknown) => e instanceof CliError && /--split/.test(e.message));
    await assert.rejects(run(fx.dir, '--limit', '0'), (e: unknown) => e instanceof CliError && /--limit/.test(e.message));
    await assert.rejects(run(fx.dir, '--split', 'validation'), (e: unknown) => e instanceof CliError && /datasets\.validation is not set/.test(e.message));
    await assert.rejects(run(`${fx.dir}/nope`), (e: unknown) => e instanceof CliError && /file not found/.test(e.message));
  });
});
