import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import type { ChatMessage, ChatProvider } from '../../../../src/core/llm/types';
import { loadToolsModule } from '../../../../src/core/tools/loadTools';
import { FINAL_ANSWER_PROMPT, runToolLoop, type ToolLoopStep } from '../../../../src/core/tools/toolLoop';
import type { LoadedTools } from '../../../../src/core/tools/types';
import { OpenAITestServer, reply, type ScriptedReply } from '../../../support/openaiTestServer';
import { repoPath } from '../../repo';

const servers: OpenAITestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

let calculator: LoadedTools | undefined;
let weather: LoadedTools | undefined;
async function toolsModules() {
  calculator ??= await loadToolsModule(repoPath('test/fixtures/tools/calculator.ts'));
  weather ??= await loadToolsModule(repoPath('test/fixtures/tools/weather.js'));
  return { calculator, weather };
}

async function setup(replies: ScriptedReply[], options: { stream?: boolean } = {}) {
  const server = await OpenAITestServer.start({ replies });
  servers.push(server);
  const provider: ChatProvider = new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', retry: { maxRetries: 0 }, stream: options.stream });
  return { server, provider };
}

const question: ChatMessage[] = [
  { role: 'system', content: 'You are a calculator agent.' },
  { role: 'user', content: 'What is 1+2+3?' },
];

/** The tool messages of the request the server received at `index`. */
const toolMessagesOf = (server: OpenAITestServer, index: number) =>
  (server.completionRequests[index].body.messages as { role: string; content: string; tool_call_id?: string }[]).filter((m) => m.role === 'tool');

describe('runToolLoop', () => {
  test('the model calls a tool of a real TS tools module, gets the result, then answers', async () => {
    const { calculator } = await toolsModules();
    const { server, provider } = await setup([
      reply.toolCalls([{ id: 'call_sum', name: 'add', arguments: { numbers: [1, 2, 3] } }], { usage: { prompt_tokens: 20, completion_tokens: 5 } }),
      reply.text('The answer is 6.', { usage: { prompt_tokens: 30, completion_tokens: 6 } }),
    ]);
    const steps: ToolLoopStep[] = [];
    const result = await runToolLoop({
      provider,
      messages: question,
      tools: calculator.schemas,
      handlers: calculator.handlers,
      maxSteps: 4,
      onStep: (s) => steps.push(s),
    });
    assert.equal(result.content, 'The answer is 6.');
    assert.equal(result.stoppedBy, 'answer');
    assert.deepEqual(result.usage, { promptTokens: 50, completionTokens: 11 });
    assert.equal(server.completionRequests.length, 2);
    // The server saw the tool schemas, then the tool result answering the call.
    assert.deepEqual(server.completionRequests[0].body.tools.map((t: { function: { name: string } }) => t.function.name), ['add', 'divide_by_zero', 'whoami']);
    assert.deepEqual(toolMessagesOf(server, 1), [{ role: 'tool', content: '{"sum":6}', tool_call_id: 'call_sum' }]);
    // Every step is recorded for traces.
    assert.equal(steps.length, 2);
    assert.deepEqual(result.steps, steps);
    assert.equal(steps[0].request.messages.length, 2, 'the recorded request is the one sent, not the growing transcript');
    assert.deepEqual(steps[0].toolResults.map((r) => [r.name, r.arguments, r.content, r.error]), [['add', '{"numbers":[1,2,3]}', '{"sum":6}', undefined]]);
    assert.equal(steps[1].toolResults.length, 0);
    assert.ok(steps.every((s) => s.durationMs >= 0 && !Number.isNaN(Date.parse(s.startedAt))));
    assert.deepEqual(result.messages.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'assistant']);
  });

  test('failing handlers, unknown tools and invalid JSON become {"error": ...} tool results the agent sees', async () => {
    const { calculator, weather } = await toolsModules();
    const { server, provider } = await setup([
      reply.toolCalls([
        { id: 'c1', name: 'divide_by_zero', arguments: {} },
        { id: 'c2', name: 'flaky', arguments: {} },
        { id: 'c3', name: 'launch_rockets', arguments: {} },
        { id: 'c4', name: 'add', arguments: '{"numbers": [1, 2' },
        { id: 'c5', name: 'add', arguments: '[1, 2]' },
        { id: 'c6', name: 'get_temperature', arguments: { city: 'Paris' } },
      ]),
      reply.text('Some tools failed; Paris is 18 C.'),
    ]);
    const result = await runToolLoop({
      provider,
      messages: question,
      tools: [...calculator.schemas, ...weather.schemas],
      handlers: { ...calculator.handlers, ...weather.handlers },
      maxSteps: 3,
    });
    assert.equal(result.content, 'Some tools failed; Paris is 18 C.');
    const seen = toolMessagesOf(server, 1);
    assert.deepEqual(seen.map((m) => m.tool_call_id), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    const errors = seen.slice(0, 5).map((m) => (JSON.parse(m.content) as { error: string }).error);
    assert.match(errors[0], /tool "divide_by_zero" failed: division by zero/);
    assert.match(errors[1], /tool "flaky" failed: service unavailable/);
    assert.match(errors[2], /unknown tool "launch_rockets"; available: add, divide_by_zero, whoami, get_temperature, flaky/);
    assert.match(errors[3], /arguments of "add" are not valid JSON/);
    assert.match(errors[4], /arguments of "add" must be a JSON object/);
    assert.equal(seen[5].content, '18 C');
    assert.deepEqual(result.steps[0].toolResults.map((r) => r.error === undefined), [false, false, false, false, false, true]);
  });

  test('the step limit: after maxSteps tool-calling replies, one last call without tools asks for the final answer', async () => {
    const { calculator } = await toolsModules();
    const again = () => reply.toolCalls([{ name: 'add', arguments: { numbers: [1] } }]);
    const { server, provider } = await setup([again(), again(), reply.text('Final: 1.')]);
    const result = await runToolLoop({ provider, messages: question, tools: calculator.schemas, handlers: calculator.handlers, maxSteps: 2 });
    assert.equal(result.content, 'Final: 1.');
    assert.equal(result.stoppedBy, 'step_limit');
    assert.equal(server.completionRequests.length, 3);
    const last = server.completionRequests[2].body;
    assert.equal(last.tools, undefined, 'no tools offered in the final call');
    assert.deepEqual(last.messages.at(-1), { role: 'user', content: FINAL_ANSWER_PROMPT });
    assert.equal(result.steps[2].forcedFinal, true);
    assert.equal(result.steps.filter((s) => s.toolResults.length).length, 2);
  });

  test('works with streaming providers, and passes agent name and state to handlers', async () => {
    const { calculator } = await toolsModules();
    const { server, provider } = await setup([reply.toolCalls([{ id: 'w1', name: 'whoami', arguments: {} }], { streamChunkChars: 2 }), reply.text('done')], { stream: true });
    const result = await runToolLoop({
      provider,
      messages: question,
      tools: calculator.schemas,
      handlers: calculator.handlers,
      maxSteps: 2,
      context: { agent: 'planner', state: { task: 'sample-7' } },
    });
    assert.equal(result.content, 'done');
    assert.deepEqual(toolMessagesOf(server, 1), [{ role: 'tool', content: 'agent=planner call=w1 task=sample-7', tool_call_id: 'w1' }]);
  });

  test('a provider failure or a cancellation propagates (it is not the model\'s business)', async () => {
    const { calculator } = await toolsModules();
    const { provider } = await setup([reply.error(400, { message: 'context too long' })]);
    await assert.rejects(runToolLoop({ provider, messages: question, tools: calculator.schemas, handlers: calculator.handlers, maxSteps: 2 }), /context too long/);
    const controller = new AbortController();
    // The run is cancelled while a handler is working (the handler itself pulls the plug, to be deterministic).
    const slowHandler = {
      wait: () => {
        controller.abort();
        return 'late';
      },
    };
    const { server: s2, provider: p2 } = await setup([reply.toolCalls([{ name: 'wait', arguments: {} }]), reply.text('never')]);
    const run = runToolLoop({
      provider: p2,
      messages: question,
      tools: [{ type: 'function', function: { name: 'wait' } }],
      handlers: slowHandler,
      maxSteps: 2,
      signal: controller.signal,
      onStep: () => undefined,
    });
    await assert.rejects(run, (err: unknown) => (err as Error).name === 'AbortError');
    assert.equal(s2.completionRequests.length, 1);
    await assert.rejects(runToolLoop({ provider: p2, messages: question, tools: [], handlers: {}, maxSteps: 0 }), /maxSteps/);
  });
});
