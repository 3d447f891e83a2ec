/**
 * Issue 12 for the batch loop: every way optimize() ends leaves run.json finished (no false success), budgets hold
 * exactly (--max-calls, a cost budget needs prices), and a run has one writer (resume locks, drops the unfinished
 * step's records so nothing is recorded twice).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { optimize } from '../../../../src/core/engine/loop';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import type { LossFunction } from '../../../../src/core/loss';
import { runOptimize } from '../../../../src/cli/commands/optimize';
import { CliError } from '../../../../src/cli/cliError';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { THREE_AGENT_PROMPTS, threeAgentYaml, writeSystem } from './loopFixtures';

const TRAIN = {
  'data/train.jsonl': [
    { id: 't1', a: 'Tom', b: 'Sue', topic: 'a park', reference: ['Tom', 'Sue', 'dragon'] },
    { id: 't2', a: 'Ann', b: 'Bob', topic: 'a zoo', reference: ['Ann', 'dragon'] },
  ]
    .map((x) => JSON.stringify(x))
    .join('\n'),
};

async function setup(extraYaml: string, modelExtra = '') {
  const server = await OpenAITestServer.start({ replies: () => reply.text('Once upon a time.', { usage: { prompt_tokens: 1000, completion_tokens: 100 } }) });
  const yaml = threeAgentYaml(`datasets: { train: data/train.jsonl }\nloss: { builtin: contains }\n${extraYaml}`, server.baseUrl).replace(
    'model: test-model }',
    `model: test-model${modelExtra} }`,
  );
  const { dir, system } = writeSystem(yaml, { ...THREE_AGENT_PROMPTS, ...TRAIN });
  const models = () => new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', retry: { maxRetries: 0 } });
  return { server, dir, system, models };
}

const runDirs = (dir: string) => {
  const runs = join(dir, '.agentchord', 'runs');
  return existsSync(runs) ? readdirSync(runs).map((id) => join(runs, id)) : [];
};

describe('optimize: no false success', () => {
  test('a loss that cannot be built refuses to start: no run folder is left running', async () => {
    const { server, dir, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const broken = { ...system, loss: { kind: 'builtin' as const, name: 'no_such_loss', options: {} } };
      await assert.rejects(optimize({ system: broken, models, steps: 1, batchSize: 1, acceptanceTest: false }), /unknown loss "no_such_loss"/);
      for (const run of runDirs(dir)) assert.notEqual(RunFolder.open(run).current.status, 'running', `${run} is left running`);
      assert.equal(server.completionRequests.length, 0);
    } finally {
      await server.close();
    }
  });

  test('a loss that never settles fails the run after loss.timeoutSeconds, naming the loss and the sample', async () => {
    const { server, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const hanging: LossFunction = { name: 'hangs', evaluate: () => new Promise(() => {}) };
      const timed = { ...system, timeouts: { ...system.timeouts, lossSeconds: 0.2 } };
      let dir = '';
      await assert.rejects(
        optimize({ system: timed, models, loss: hanging, steps: 1, batchSize: 1, acceptanceTest: false, onEstimate: () => undefined, onProgress: () => undefined }).catch((err) => {
          dir = runDirs(system.dir)[0];
          throw err;
        }),
        /loss hangs of sample "s0:t1" did not finish within 0\.2 s \(the time-out is loss\.timeoutSeconds/,
      );
      const manifest = RunFolder.open(dir).current;
      assert.equal(manifest.status, 'failed');
      assert.match(manifest.error!, /loss\.timeoutSeconds/);
      assert.equal(existsSync(join(dir, 'writer.lock')), false, 'the lock is given back');
    } finally {
      await server.close();
    }
  });
});

describe('optimize: budgets hold', () => {
  for (const limit of [1, 3]) {
    test(`--max-calls ${limit} makes exactly ${limit} model request(s), with samples running concurrently`, async () => {
      const { server, system, models } = await setup('optimizer: { kind: warnings }');
      try {
        const r = await optimize({ system, models, steps: 2, batchSize: 2, acceptanceTest: false, budget: { maxCalls: limit } });
        assert.equal(r.status, 'budget_exhausted');
        assert.equal(server.completionRequests.length, limit);
        assert.equal(r.folder.read().checkpoint?.usage.calls, limit);
      } finally {
        await server.close();
      }
    });
  }

  test('answers from the response cache do not count against --max-calls', async () => {
    const { server, dir, system } = await setup('optimizer: { kind: warnings }');
    try {
      const cached = makeModelResolver(system, { apiKey: () => undefined, cacheDir: join(dir, 'cache') });
      const first = await optimize({ system, models: cached, steps: 1, batchSize: 2, acceptanceTest: false });
      assert.equal(first.status, 'completed');
      assert.equal(server.completionRequests.length, 6);
      // Every call is in the cache: a limit of 1 real request is never reached.
      const again = await optimize({ system, models: makeModelResolver(system, { apiKey: () => undefined, cacheDir: join(dir, 'cache') }), steps: 1, batchSize: 2, acceptanceTest: false, budget: { maxCalls: 1 } });
      assert.equal(again.status, 'completed');
      assert.equal(server.completionRequests.length, 6);
    } finally {
      await server.close();
    }
  });

  test('a cost budget with a model without a price refuses to start, naming the model', async () => {
    const { server, dir, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      await assert.rejects(
        optimize({ system, models, steps: 1, batchSize: 1, acceptanceTest: false, budget: { maxCostUsd: 1 } }),
        /cost budget .* none is known for models\.m \(endpoint model "test-model"\): add price: \{ inputPerMTok, outputPerMTok \}/,
      );
      assert.deepEqual(runDirs(dir), [], 'nothing started');
      assert.equal(server.completionRequests.length, 0);
      const cli = runOptimize([dir, '--steps', '1', '--no-acceptance-test', '--max-cost', '1'], () => undefined);
      await assert.rejects(cli, (e: unknown) => e instanceof CliError && e.exitCode === 1 && /models\.m/.test(e.message));
    } finally {
      await server.close();
    }
  });

  test('with price: in the system file the cost budget runs, and the cost is priced from it', async () => {
    const { server, system, models } = await setup('optimizer: { kind: warnings }', ', price: { inputPerMTok: 2, outputPerMTok: 10 }');
    try {
      assert.deepEqual((system.models.m as { price?: unknown }).price, { inputPerMTok: 2, outputPerMTok: 10 });
      // 1000 prompt + 100 completion tokens per call: $0.002 + $0.001.
      const r = await optimize({ system, models, steps: 2, batchSize: 1, acceptanceTest: false, budget: { maxCostUsd: 0.0085 } });
      assert.equal(r.status, 'budget_exhausted');
      assert.equal(server.completionRequests.length, 3);
      const { manifest } = r.folder.read();
      assert.ok(Math.abs(manifest.usage.costUsd - 0.009) < 1e-9, String(manifest.usage.costUsd));
      assert.match(manifest.error!, /\$0\.0090 spent, limit \$0\.0085/);
    } finally {
      await server.close();
    }
  });
});

describe('optimize: one writer per run', () => {
  test('resuming after a cancel records every call once', async () => {
    const { server, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const controller = new AbortController();
      const first = await optimize({
        system,
        models,
        steps: 2,
        batchSize: 2,
        acceptanceTest: false,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => p.step === 1 && p.done === 1 && controller.abort(),
      });
      assert.equal(first.status, 'cancelled');
      assert.ok(first.folder.read().calls.some((c) => c.sampleId.startsWith('s1:')), 'the cancelled step had recorded calls');
      const second = await optimize({ system, models, steps: 2, batchSize: 2, acceptanceTest: false, resume: first.folder.dir });
      assert.equal(second.status, 'completed');
      const done = second.folder.read();
      const ids = done.calls.map((c) => c.id);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no call id twice');
      assert.equal(ids.length, 12, '2 steps x 2 samples x 3 agents');
      assert.equal(done.attribution.length, 12);
      assert.equal(done.samples.length, 4);
      assert.equal(new Set(done.graphs.map((g) => g.sampleId)).size, done.graphs.length);
    } finally {
      await server.close();
    }
  });

  test('a second --resume of a run that is being written fails with a clear message', async () => {
    const { server, dir, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const first = await optimize({ system, models, steps: 2, batchSize: 1, acceptanceTest: false, budget: { maxCalls: 3 } });
      assert.equal(first.status, 'budget_exhausted');
      assert.equal(existsSync(join(first.folder.dir, 'writer.lock')), false, 'a finished session leaves no lock');
      let second: Promise<unknown> | undefined;
      const resumed = optimize({
        system,
        models,
        steps: 2,
        batchSize: 1,
        acceptanceTest: false,
        resume: first.folder.dir,
        onEstimate: () => {
          // While this session writes the run, another resume must be refused.
          second = optimize({ system, models, steps: 2, batchSize: 1, acceptanceTest: false, resume: first.folder.dir });
          second.catch(() => {});
        },
      });
      assert.equal((await resumed).status, 'completed');
      await assert.rejects(second!, /this run is being written by another writer in this process .* one writer at a time/);

      // Another live process holding the lock (our parent stands in for it): the CLI says who, exit 1.
      const again = await optimize({ system, models, steps: 1, batchSize: 1, acceptanceTest: false, budget: { maxCalls: 1 } });
      const lock = join(again.folder.dir, 'writer.lock');
      const { writeFileSync } = await import('node:fs');
      const { hostname } = await import('node:os');
      writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
      await assert.rejects(
        runOptimize([dir, '--steps', '1', '--no-acceptance-test', '--resume', again.folder.dir], () => undefined),
        (e: unknown) => e instanceof CliError && e.exitCode === 1 && e.message.includes(`process ${process.ppid} (since 2026-01-01T00:00:00.000Z)`) && e.message.includes(lock),
      );
      assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.ppid, 'the live lock is left alone');
    } finally {
      await server.close();
    }
  });
});
