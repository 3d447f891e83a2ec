// The forward run against a real local OpenAI-compatible server: order, blocks, traces, cache, retries, tools,
// cancellation and multi-turn environments.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../../../src/core/engine/dataset';
import { runForward, type ProgressEvent } from '../../../../src/core/engine/forward';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { RUN_FILES, type AgentCall, type CallAttribution, type RunManifest } from '../../../../src/core/engine/types';
import { OpenAITestServer, reply, type RecordedRequest, type ScriptedReply, type TestServerOptions } from '../../../support/openaiTestServer';
import { assertWholeJsonl, fixtureSystem, newRun, roleOf, userMessage, type FixtureSystem } from './helpers';

const noKey = () => undefined;
const fastRetry = { retry: { baseDelayMs: 1, maxDelayMs: 5 } };

/** Deterministic replies: each agent says who it is and echoes the first line of its first block. */
function threeAgentReply(request: RecordedRequest): ScriptedReply {
  const role = roleOf(request);
  const firstContent = userMessage(request).split('\n')[1];
  return reply.text(`${role} output for [${firstContent}]`);
}

describe('runForward: three agents in order', () => {
  let server: OpenAITestServer;
  let fx: FixtureSystem;
  after(async () => {
    await server?.close();
    fx?.cleanup();
  });

  test('agents run in order; block char ranges slice exactly the task fields and predecessor outputs', async () => {
    server = await OpenAITestServer.start({ replies: threeAgentReply });
    fx = fixtureSystem('three-agents', server.baseUrl);
    const { system } = fx;
    const samples = loadDataset(system, 'train');
    const run = newRun(system, samples.length);
    const progress: ProgressEvent[] = [];
    const results = await runForward({
      system,
      samples,
      runFolder: run,
      models: makeModelResolver(system, { apiKey: noKey }),
      concurrency: 2,
      onProgress: (e) => progress.push(e),
    });
    assert.equal(results.length, 3);
    for (const [i, r] of results.entries()) {
      assert.equal(r.sample.id, samples[i].id);
      assert.deepEqual(r.calls.map((c) => c.agent), ['planner', 'solver', 'writer']);
      const [planner, solver, writer] = r.calls;
      assert.equal(r.output, writer.output);
      const slice = (c: AgentCall, id: string) => {
        const b = c.blocks.find((x) => x.id === id);
        assert.ok(b, `${c.id} has block ${id}`);
        return c.renderedInput.slice(b.charStart, b.charEnd);
      };
      assert.equal(slice(planner, 'task.question'), samples[i].fields.question);
      assert.equal(slice(solver, 'agent:planner'), planner.output);
      assert.equal(slice(solver, 'task.question'), samples[i].fields.question);
      assert.equal(slice(writer, 'agent:solver'), solver.output);
      assert.equal(slice(writer, 'agent:planner'), planner.output);
      assert.deepEqual(solver.blocks.find((b) => b.id === 'agent:planner')?.source, { kind: 'agent', agent: 'planner', callId: planner.id });
      assert.ok(solver.renderedInput.includes('<block source="agent:planner">\n'));
      assert.equal(planner.id, `${samples[i].id}/t0/planner/s0`);
      // Exactly what was sent: the system message is the rendered prompt, the user message the blocks.
      assert.equal(planner.messages[0].role, 'system');
      assert.ok(planner.messages[0].content.includes(`"${samples[i].fields.question as string}"`), 'placeholder filled from the task');
      assert.ok(!planner.messages[0].content.includes('description:'), 'front matter stripped');
      assert.ok(!solver.messages[0].content.includes('DONT_CHANGE'), 'frozen tags stripped');
      assert.equal(planner.messages[1].content, planner.renderedInput);
    }
    // The server saw, for each sample, the planner before the solver before the writer.
    const sent = server.completionRequests.map((rq) => ({ role: roleOf(rq), user: userMessage(rq) }));
    assert.equal(sent.length, 9);
    for (const s of samples) {
      const roles = sent.filter((x) => x.user.includes(s.fields.question as string)).map((x) => x.role);
      assert.deepEqual(roles, ['planner', 'solver', 'writer'], 'the writer sees the question through the planner output');
    }

    const contents = RunFolder.open(run.dir).read();
    assert.equal(contents.calls.length, 9);
    assert.equal(contents.attribution.length, 9);
    assert.deepEqual(new Set(contents.calls.map((c) => c.id)), new Set(contents.attribution.map((a) => a.callId)));
    const byId = new Map(contents.attribution.map((a) => [a.callId, a] as [string, CallAttribution]));
    // Without an attribution model: single-block calls weigh 1, the others are unavailable with a reason.
    const plannerAttr = byId.get('q1/t0/planner/s0')!;
    assert.equal(plannerAttr.status, 'single-block');
    assert.deepEqual(plannerAttr.weights, { 'task.question': 1 });
    const solverAttr = byId.get('q1/t0/solver/s0')!;
    assert.equal(solverAttr.status, 'unavailable');
    assert.deepEqual(solverAttr.weights, {});
    assert.match(solverAttr.reason ?? '', /attribution\.model/);
    // Usage: every call counted, per run and per agent.
    const m = contents.manifest;
    assert.equal(m.usage.calls, 9);
    assert.equal(m.usage.promptTokens, contents.calls.reduce((s, c) => s + c.usage.promptTokens, 0));
    assert.ok(m.usage.costUsd > 0, 'gpt-4o-mini is priced');
    assert.equal(m.usageByAgent?.writer.calls, 3);
    assert.equal(m.usageByStep?.forward.calls, 9);
    assert.equal(progress.filter((e) => e.type === 'call').length, 9);
    assert.equal(progress.filter((e) => e.type === 'sample').at(-1)?.samplesDone, 3);
  });

  test('a re-run is answered from the response cache (no new request, no cost)', async () => {
    const { system } = fx;
    const before = server.completionRequests.length;
    const run = newRun(system, 3);
    const results = await runForward({ system, samples: loadDataset(system, 'train'), runFolder: run, models: makeModelResolver(system, { apiKey: noKey }) });
    assert.equal(server.completionRequests.length, before);
    assert.ok(results.every((r) => r.calls.every((c) => c.cached)));
    const m = RunFolder.open(run.dir).read().manifest;
    assert.equal(m.usage.calls, 0);
    assert.equal(m.usage.costUsd, 0);
    assert.equal(m.usageByAgent?.planner.cachedCalls, 3);
  });

  test('a corrupted cache entry is ignored: that one request is sent again', async () => {
    const { system } = fx;
    const cacheDir = join(system.dir, '.agentchord', 'cache');
    const entries = readdirSync(cacheDir).flatMap((d) => readdirSync(join(cacheDir, d)).map((f) => join(cacheDir, d, f)));
    assert.equal(entries.length, 9);
    writeFileSync(entries[0], '{"format": 1, "key": "trunc');
    const before = server.completionRequests.length;
    await runForward({ system, samples: loadDataset(system, 'train'), runFolder: newRun(system, 3), models: makeModelResolver(system, { apiKey: noKey }) });
    assert.equal(server.completionRequests.length, before + 1);
    JSON.parse(readFileSync(entries[0], 'utf8')); // rewritten whole
  });
});

describe('runForward: retries, cancellation, tools, environments', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  const start = async (replies: TestServerOptions['replies'], fixture: string) => {
    const server = await OpenAITestServer.start({ replies });
    const fx = fixtureSystem(fixture, server.baseUrl);
    cleanups.push(() => server.close(), fx.cleanup);
    return { server, system: fx.system };
  };

  test('a 429 then success: the provider retries and the run completes', async () => {
    let n = 0;
    const { server, system } = await start((rq: RecordedRequest) => (n++ === 0 ? reply.error(429, { retryAfter: '0' }) : threeAgentReply(rq)), 'three-agents');
    const samples = loadDataset(system, 'test');
    assert.equal(samples[0].id, '1', 'no id field: the line number');
    const run = newRun(system, 1);
    const [r] = await runForward({ system, samples, runFolder: run, models: makeModelResolver(system, { apiKey: noKey, endpoint: fastRetry }) });
    assert.equal(server.completionRequests.length, 4);
    assert.match(r.calls[0].output, /^planner output/);
    assert.equal(RunFolder.open(run.dir).read().manifest.usage.calls, 3);
  });

  test('cancelling mid-run leaves whole JSONL lines, no temp file, and the manifest cancelled', async () => {
    const { system } = await start((rq: RecordedRequest) => reply.slow(roleOf(rq) === 'planner' ? 5 : 150, threeAgentReply(rq)), 'three-agents');
    const run = newRun(system, 3);
    const controller = new AbortController();
    const promise = runForward({
      system,
      samples: loadDataset(system, 'train'),
      runFolder: run,
      models: makeModelResolver(system, { apiKey: noKey }),
      concurrency: 3,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'call' && e.callsDone === 4) controller.abort();
      },
    });
    await assert.rejects(promise);
    const calls = assertWholeJsonl(join(run.dir, RUN_FILES.calls)) as AgentCall[];
    const attribution = assertWholeJsonl(join(run.dir, RUN_FILES.attribution)) as CallAttribution[];
    assert.ok(calls.length >= 4 && calls.length < 9, `stopped early (${calls.length} calls)`);
    assert.deepEqual(calls.map((c) => c.id), attribution.map((a) => a.callId));
    const manifest = JSON.parse(readFileSync(join(run.dir, RUN_FILES.manifest), 'utf8')) as RunManifest;
    assert.equal(manifest.status, 'cancelled');
    assert.deepEqual(readdirSync(run.dir).filter((f) => f.endsWith('.tmp')), []);
  });

  test('tool calls go through the tools module; a failing handler is a tool error the agent sees', async () => {
    const { server, system } = await start(
      [
        reply.toolCalls([
          { id: 'call_add', name: 'add', arguments: { a: 2, b: 3 } },
          { id: 'call_boom', name: 'explode', arguments: {} },
        ]),
        reply.text('The answer is 5.'),
      ],
      'tool-agent',
    );
    const run = newRun(system, 1);
    const [r] = await runForward({ system, samples: loadDataset(system, 'train'), runFolder: run, models: makeModelResolver(system, { apiKey: noKey }) });
    assert.equal(r.output, 'The answer is 5.');
    assert.deepEqual(r.calls.map((c) => [c.id, c.step]), [['t1/t0/calculator/s0', 0], ['t1/t0/calculator/s1', 1]]);
    const [s0, s1] = r.calls;
    assert.deepEqual(s0.toolCalls.map((t) => [t.name, t.result]), [['add', '{"sum":5}'], ['explode', JSON.stringify({ error: 'tool "explode" failed: the fuse was lit' })]]);
    assert.match(s0.toolCalls[1].error ?? '', /the fuse was lit/);
    // The model received the error as the tool result.
    const second = server.completionRequests[1].body.messages as Array<{ role: string; content: string; tool_call_id?: string }>;
    const toolMessage = second.find((m) => m.role === 'tool' && m.tool_call_id === 'call_boom');
    assert.match(toolMessage?.content ?? '', /the fuse was lit/);
    assert.deepEqual(server.completionRequests[0].body.tools.map((t: { function: { name: string } }) => t.function.name), ['add', 'explode']);
    // Step 1's input holds the tool results as blocks.
    assert.deepEqual(s1.blocks.map((b) => b.id), ['task.question', 'tool:call_add', 'tool:call_boom']);
    const add = s1.blocks[1];
    assert.equal(s1.renderedInput.slice(add.charStart, add.charEnd), '{"sum":5}');
    assert.deepEqual(add.source, { kind: 'tool', tool: 'add', toolCallId: 'call_add', callId: s0.id });
    assert.equal(r.attributions[1].status, 'unavailable');
    assert.equal(RunFolder.open(run.dir).read().calls.length, 2);
  });

  test('a multi-turn environment runs turns until it is done, then evaluates', async () => {
    const { system } = await start((rq: RecordedRequest) => reply.text(`Answer #${/question (\d+)/.exec(userMessage(rq))?.[1]}`), 'multi-turn');
    const run = newRun(system, 1);
    const [r] = await runForward({ system, samples: loadDataset(system, 'train'), runFolder: run, models: makeModelResolver(system, { apiKey: noKey }) });
    assert.deepEqual(r.calls.map((c) => c.id), ['m1/t0/assistant/s0', 'm1/t1/assistant/s0', 'm1/t2/assistant/s0']);
    assert.equal(r.calls[2].renderedInput.split('\n')[1], 'question 3 about tea');
    assert.equal(r.output, 'Answer #3');
    assert.deepEqual(r.environment, { metrics: { turns: 3, accuracy: 1 }, lossFields: { transcript: 'Answer #1\nAnswer #2\nAnswer #3' } });
  });

  test('a missing task field fails the run with an error naming the sample and agent; the manifest says failed', async () => {
    const { system } = await start(threeAgentReply, 'three-agents');
    const run = newRun(system, 1);
    await assert.rejects(
      runForward({ system, samples: [{ id: 'x', fields: { other: 1 } }], runFolder: run, models: makeModelResolver(system, { apiKey: noKey }) }),
      /sample "x", agent "planner": .*task has no field "question"/,
    );
    const m = RunFolder.open(run.dir).read().manifest;
    assert.equal(m.status, 'failed');
    assert.match(m.error ?? '', /question/);
    assert.ok(!existsSync(join(run.dir, RUN_FILES.calls)));
  });
});
