/**
 * Issue 12, no false success in the forward run: environment methods and tool handlers that never settle fail the
 * run after their time-out, naming the sample, the agent and tool or the method; a full disk still leaves run.json
 * marked failed.
 */
import { after, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runForward } from '../../../../src/core/engine/forward';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { writeSystem } from './loopFixtures';
import { newRun } from './helpers';

const servers: OpenAITestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const NEVER_RESETS = `
export function createEnvironment() {
  return {
    reset: () => new Promise(() => {}),
    step: async () => ({ done: true }),
    evaluate: async () => ({ metrics: {}, lossFields: {} }),
  };
}`;

const HANGING_TOOL = `
export const tools = [
  {
    schema: { type: 'function', function: { name: 'wait_forever', parameters: { type: 'object', properties: {} } } },
    handler: (_args, context) => {
      globalThis.__agentchordHangSignal = context.signal;
      return new Promise(() => {});
    },
  },
];`;

function multiTurn(envYaml: string) {
  return writeSystem(
    `version: 1
models:
  m: { provider: openai, baseUrl: http://127.0.0.1:9/v1, model: test-model }
agents:
  assistant: { prompt: prompts/assistant.chord.md, model: m, inputs: [task.message] }
output: assistant
environment: { module: env.ts${envYaml} }
datasets: { train: data/train.jsonl }
`,
    { 'prompts/assistant.chord.md': 'Answer.\n', 'env.ts': NEVER_RESETS, 'data/train.jsonl': '{"id": "d1", "topic": "x"}\n' },
  );
}

const models = (system: Parameters<typeof makeModelResolver>[0]) => makeModelResolver(system, { apiKey: () => undefined, cacheDir: false });

describe('time-outs of awaited user code', () => {
  test('environment.timeoutSeconds is read from the file; the default is 600 s', () => {
    assert.equal(multiTurn('').system.timeouts.environmentSeconds, 600);
    assert.equal(multiTurn(', timeoutSeconds: 0.25').system.timeouts.environmentSeconds, 0.25);
  });

  test('a reset() that never settles fails the sample after environment.timeoutSeconds, and run.json says failed', async () => {
    const { system } = multiTurn(', timeoutSeconds: 0.2');
    const folder = newRun(system, 1);
    const started = Date.now();
    await assert.rejects(
      runForward({ system, samples: [{ id: 'd1', fields: { topic: 'x' } }], runFolder: folder, models: models(system) }),
      (e: Error) => e.message === 'sample "d1": environment env.ts: reset() did not finish within 0.2 s (the time-out is environment.timeoutSeconds in agentchord.yaml)',
    );
    assert.ok(Date.now() - started < 5000);
    const manifest = RunFolder.open(folder.dir).current;
    assert.equal(manifest.status, 'failed');
    assert.match(manifest.error!, /reset\(\) did not finish within 0\.2 s/);
  });

  test('a tool handler that never settles fails the run after tools.timeoutSeconds, naming the agent and the tool', async () => {
    const server = await OpenAITestServer.start({ replies: [reply.toolCalls([{ id: 'c1', name: 'wait_forever', arguments: {} }]), reply.text('done')] });
    servers.push(server);
    const { system } = writeSystem(
      `version: 1
models:
  m: { provider: openai, baseUrl: ${server.baseUrl}, model: test-model }
agents:
  worker: { prompt: prompts/worker.chord.md, model: m, inputs: [task.q], tools: [wait_forever] }
output: worker
tools: { module: tools.ts, timeoutSeconds: 0.2 }
datasets: { train: data/train.jsonl }
`,
      { 'prompts/worker.chord.md': 'Work.\n', 'tools.ts': HANGING_TOOL, 'data/train.jsonl': '{"id": "w1", "q": "go"}\n' },
    );
    assert.equal(system.timeouts.toolSeconds, 0.2);
    const folder = newRun(system, 1);
    await assert.rejects(
      runForward({ system, samples: [{ id: 'w1', fields: { q: 'go' } }], runFolder: folder, models: models(system) }),
      (e: Error) => e.message === 'sample "w1", agent "worker": tool "wait_forever" did not finish within 0.2 s (the time-out is tools.timeoutSeconds in agentchord.yaml)',
    );
    assert.equal(RunFolder.open(folder.dir).current.status, 'failed');
    assert.equal((globalThis as { __agentchordHangSignal?: AbortSignal }).__agentchordHangSignal?.aborted, true, "the handler's signal aborts at the time-out");
    assert.equal(server.completionRequests.length, 1, 'the model is not asked again after the hung tool');
  });
});

describe('a full disk', () => {
  test('calls.jsonl on a full device and no room for a temp file: run.json still ends failed, naming ENOSPC', async (t) => {
    if (!fs.existsSync('/dev/full')) return t.skip('no /dev/full here');
    const server = await OpenAITestServer.start({ replies: () => reply.text('ok') });
    servers.push(server);
    const { system } = writeSystem(
      `version: 1
models:
  m: { provider: openai, baseUrl: ${server.baseUrl}, model: test-model }
agents:
  solo: { prompt: prompts/solo.chord.md, model: m, inputs: [task.q] }
output: solo
datasets: { train: data/train.jsonl }
`,
      { 'prompts/solo.chord.md': 'Say ok.\n', 'data/train.jsonl': '{"id": "f1", "q": "x"}\n' },
    );
    const folder = newRun(system, 1);
    symlinkSync('/dev/full', join(folder.dir, 'calls.jsonl'));
    // The disk is "full" for new files too: run.json's temp file cannot be created.
    const original = fs.openSync;
    const full = mock.method(fs, 'openSync', (path: fs.PathLike, ...rest: unknown[]) => {
      if (String(path).endsWith('.tmp')) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(path)}'`), { code: 'ENOSPC' });
      return (original as (...a: unknown[]) => number)(path, ...rest);
    });
    try {
      await assert.rejects(runForward({ system, samples: [{ id: 'f1', fields: { q: 'x' } }], runFolder: folder, models: models(system) }), (e: Error) => {
        assert.match(e.message, /calls\.jsonl: ENOSPC/);
        return true;
      });
    } finally {
      full.mock.restore();
    }
    const text = fs.readFileSync(join(folder.dir, 'run.json'), 'utf8');
    const manifest = JSON.parse(text);
    assert.equal(manifest.status, 'failed');
    assert.match(manifest.error, /ENOSPC/);
  });
});
