import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { OpenAIProvider, createEndpointProvider, redact, type OpenAIProviderOptions } from '../../../../src/core/llm/openaiProvider';
import { ProviderError, type ChatDelta } from '../../../../src/core/llm/types';
import { OpenAITestServer, reply, type ScriptedReply } from '../../../support/openaiTestServer';

const servers: OpenAITestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(replies: ScriptedReply[], apiKey?: string): Promise<OpenAITestServer> {
  const server = await OpenAITestServer.start({ replies, apiKey });
  servers.push(server);
  return server;
}

/** A provider with fast retries (backoff of a few ms) so tests measure behaviour, not waiting. */
function providerFor(server: OpenAITestServer, options: Partial<OpenAIProviderOptions> = {}): OpenAIProvider {
  return new OpenAIProvider({
    baseUrl: server.baseUrl,
    model: 'test-model',
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxRetries: 3 },
    random: () => 0.5,
    ...options,
  });
}

const hello = { messages: [{ role: 'user' as const, content: 'Say hello.' }] };

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('OpenAIProvider', () => {
  test('a text reply: content, usage, finish reason, model; parameters merged over the model defaults', async () => {
    const server = await serve([reply.text('Hello there.', { usage: { prompt_tokens: 11, completion_tokens: 3 } })]);
    const provider = providerFor(server, { parameters: { temperature: 0.7, max_tokens: 50 } });
    const response = await provider.complete({ ...hello, parameters: { temperature: 0, seed: 7 } });
    assert.equal(response.message.content, 'Hello there.');
    assert.deepEqual(response.message.toolCalls, []);
    assert.deepEqual(response.usage, { promptTokens: 11, completionTokens: 3 });
    assert.equal(response.finishReason, 'stop');
    assert.equal(response.model, 'test-model');
    assert.equal(response.cached, false);
    assert.ok(response.latencyMs >= 0);
    const [sent] = server.completionRequests;
    assert.equal(sent.body.model, 'test-model');
    assert.deepEqual(sent.body.messages, [{ role: 'user', content: 'Say hello.' }]);
    assert.equal(sent.body.temperature, 0);
    assert.equal(sent.body.max_tokens, 50);
    assert.equal(sent.body.seed, 7);
    assert.equal(sent.body.stream, undefined);
  });

  test('tool calls come back parsed; assistant tool calls and tool results go out in the API format', async () => {
    const server = await serve([reply.toolCalls([{ id: 'call_a', name: 'add', arguments: { numbers: [1, 2] } }])]);
    const response = await providerFor(server).complete({
      messages: [
        { role: 'user', content: 'add' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'call_0', name: 'add', arguments: '{"numbers":[5]}' }] },
        { role: 'tool', toolCallId: 'call_0', content: '{"sum":5}' },
      ],
      tools: [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }],
    });
    assert.equal(response.finishReason, 'tool_calls');
    assert.deepEqual(response.message.toolCalls, [{ id: 'call_a', name: 'add', arguments: '{"numbers":[1,2]}' }]);
    const body = server.completionRequests[0].body;
    assert.deepEqual(body.messages[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'add', arguments: '{"numbers":[5]}' } }],
    });
    assert.deepEqual(body.messages[2], { role: 'tool', content: '{"sum":5}', tool_call_id: 'call_0' });
    assert.equal(body.tools[0].function.name, 'add');
  });

  test('the key from the resolver is sent as a bearer token; a keyless endpoint sends no Authorization (not even OPENAI_API_KEY)', async () => {
    const server = await serve([reply.text('a'), reply.text('b')]);
    const keyed = providerFor(server, { apiKeyEnv: 'MY_KEY', resolveApiKey: (name) => (name === 'MY_KEY' ? 'sk-test-123' : undefined) });
    await keyed.complete(hello);
    assert.equal(server.completionRequests[0].headers.authorization, 'Bearer sk-test-123');
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-should-not-be-sent';
    try {
      await providerFor(server).complete(hello);
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
    assert.equal(server.completionRequests[1].headers.authorization, undefined);
  });

  test('a missing key is an auth error naming the variable, and nothing is sent', async () => {
    const server = await serve([reply.text('unused')]);
    const provider = createEndpointProvider(
      { kind: 'endpoint', name: 'gpt', baseUrl: server.baseUrl, model: 'gpt-4o', apiKeyEnv: 'AGENTCHORD_TEST_MISSING_KEY', parameters: {}, range: { line: 1, column: 1, endLine: 1, endColumn: 1 } },
      { resolveApiKey: () => undefined },
    );
    const err = await rejection(provider.complete(hello));
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /AGENTCHORD_TEST_MISSING_KEY/);
    assert.ok(err.message.includes(server.baseUrl) && err.message.includes('gpt-4o'));
    assert.equal(server.requests.length, 0);
  });

  test('a wrong key: the error names the endpoint but never contains the key, even though the server echoed it', async () => {
    const secret = 'sk-proj-SECRET0123456789abcdef';
    const server = await serve([reply.text('unused')], 'the-right-key');
    const provider = providerFor(server, { apiKeyEnv: 'MY_KEY', resolveApiKey: () => secret });
    const err = await rejection(provider.complete(hello));
    assert.equal(err.kind, 'auth');
    assert.equal(err.status, 401);
    assert.equal(server.requests.length, 1, 'auth errors are not retried');
    assert.ok(err.message.includes(server.baseUrl) && err.message.includes('test-model'), err.message);
    assert.match(err.message, /MY_KEY/);
    for (const shown of [err.message, String(err), err.stack ?? '', inspect(err, { depth: 10 }), JSON.stringify(err)]) {
      assert.ok(!shown.includes(secret), `key leaked in: ${shown}`);
      assert.ok(!shown.includes('SECRET0123456789'), `part of the key leaked in: ${shown}`);
    }
  });

  test('429 with Retry-After: waits what the server asked, then succeeds', async () => {
    const server = await serve([reply.error(429, { retryAfter: '1', message: 'slow down' }), reply.text('ok')]);
    const response = await providerFor(server).complete(hello);
    assert.equal(response.message.content, 'ok');
    const [first, second] = server.completionRequests;
    const gap = second.receivedAt - first.receivedAt;
    assert.ok(gap >= 950, `retried after ${gap} ms, the server asked for 1000 ms (backoff alone would be ~5 ms)`);
  });

  test('500 then success: retried with backoff', async () => {
    const server = await serve([reply.error(500), reply.error(503), reply.text('recovered')]);
    const response = await providerFor(server).complete(hello);
    assert.equal(response.message.content, 'recovered');
    assert.equal(server.completionRequests.length, 3);
  });

  test('a dropped connection is retried', async () => {
    const server = await serve([reply.drop(), reply.text('second try')]);
    const response = await providerFor(server).complete(hello);
    assert.equal(response.message.content, 'second try');
    assert.equal(server.completionRequests.length, 2);
  });

  test('gives up after maxRetries with a clear error naming the endpoint', async () => {
    const server = await serve([reply.error(500, { message: 'boom' }), reply.error(500), reply.error(502), reply.text('too late')]);
    const err = await rejection(providerFor(server, { retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 } }).complete(hello));
    assert.equal(err.kind, 'server');
    assert.equal(err.attempts, 3);
    assert.equal(err.status, 502);
    assert.equal(server.completionRequests.length, 3);
    assert.ok(err.message.startsWith(`${server.baseUrl} (model test-model):`), err.message);
    assert.match(err.message, /HTTP 502/);
    assert.match(err.message, /gave up after 3 attempts/);
  });

  test('a 400 is not retried', async () => {
    const server = await serve([reply.error(400, { message: 'bad field' }), reply.text('unused')]);
    const err = await rejection(providerFor(server).complete(hello));
    assert.equal(err.kind, 'bad_request');
    assert.match(err.message, /bad field/);
    assert.equal(server.completionRequests.length, 1);
  });

  test('a slow response times out (and the time-out is retried when retries are allowed)', async () => {
    const server = await serve([reply.slow(3000, reply.text('too slow')), reply.slow(3000, reply.text('too slow')), reply.text('fast')]);
    const started = Date.now();
    const err = await rejection(providerFor(server, { timeoutMs: 150, retry: { maxRetries: 0 } }).complete(hello));
    assert.equal(err.kind, 'timeout');
    assert.match(err.message, /150 ms/);
    assert.ok(Date.now() - started < 1500, 'did not wait for the slow server');
    const response = await providerFor(server, { timeoutMs: 150 }).complete(hello);
    assert.equal(response.message.content, 'fast');
    assert.equal(server.completionRequests.length, 3);
  });

  test('timeoutSeconds and maxRetries of a model entry bound a hanging endpoint (issue 12: no more 605 s)', async () => {
    const server = await serve([reply.slow(5000, reply.text('never')), reply.slow(5000, reply.text('never')), reply.slow(5000, reply.text('never'))]);
    const range = { line: 1, column: 1, endLine: 1, endColumn: 1 };
    const provider = createEndpointProvider(
      { kind: 'endpoint', name: 'slow', baseUrl: server.baseUrl, model: 'test-model', parameters: {}, timeoutSeconds: 0.15, maxRetries: 1, range },
      // Program-wide defaults lose to what the model entry says.
      { timeoutMs: 60_000, retry: { maxRetries: 4, baseDelayMs: 5, maxDelayMs: 20 }, random: () => 0.5 },
    );
    const started = Date.now();
    const err = await rejection(provider.complete(hello));
    assert.equal(err.kind, 'timeout');
    assert.match(err.message, /no complete response within 150 ms \(gave up after 2 attempts\)/);
    assert.ok(Date.now() - started < 2000, 'two short attempts, not minutes');
    assert.equal(server.completionRequests.length, 2);
  });

  test('cancellation mid-request ends the call at once and is not retried', async () => {
    const server = await serve([reply.slow(5000, reply.text('never'))]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await rejection(providerFor(server).complete(hello, controller.signal));
    assert.equal(err.kind, 'cancelled');
    assert.ok(Date.now() - started < 1500);
    assert.equal(server.completionRequests.length, 1);
  });

  test('cancellation during a backoff sleep ends the call without waiting it out', async () => {
    const server = await serve([reply.error(429, { retryAfter: '30' }), reply.text('never')]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const err = await rejection(providerFor(server).complete(hello, controller.signal));
    assert.equal(err.kind, 'cancelled');
    assert.match(err.message, /waiting to retry/);
    assert.ok(Date.now() - started < 2000);
    assert.equal(server.completionRequests.length, 1);
  });

  test('an already-aborted signal sends nothing', async () => {
    const server = await serve([reply.text('unused')]);
    const err = await rejection(providerFor(server).complete(hello, AbortSignal.abort()));
    assert.equal(err.kind, 'cancelled');
    assert.equal(server.completionRequests.length, 0);
  });

  test('streaming: text deltas reach onDelta and add up to the answer; usage comes from the last event', async () => {
    const server = await serve([reply.text('Streaming works fine.', { usage: { prompt_tokens: 9, completion_tokens: 4 } })]);
    const deltas: ChatDelta[] = [];
    const response = await providerFor(server, { stream: true }).complete(hello, undefined, { onDelta: (d) => deltas.push(d) });
    assert.equal(response.message.content, 'Streaming works fine.');
    assert.deepEqual(response.usage, { promptTokens: 9, completionTokens: 4 });
    assert.equal(response.finishReason, 'stop');
    assert.ok(deltas.length > 3, 'several content pieces');
    assert.equal(deltas.map((d) => d.content ?? '').join(''), 'Streaming works fine.');
    assert.equal(server.completionRequests[0].body.stream, true);
    assert.deepEqual(server.completionRequests[0].body.stream_options, { include_usage: true });
  });

  test('streaming: tool-call deltas are assembled per call', async () => {
    const server = await serve([
      reply.toolCalls(
        [
          { id: 'call_1', name: 'get_temperature', arguments: { city: 'Paris' } },
          { id: 'call_2', name: 'add', arguments: { numbers: [1, 2, 3] } },
        ],
        { streamChunkChars: 3 },
      ),
    ]);
    const deltas: ChatDelta[] = [];
    const response = await providerFor(server, { stream: true }).complete(hello, undefined, { onDelta: (d) => deltas.push(d) });
    assert.deepEqual(response.message.toolCalls, [
      { id: 'call_1', name: 'get_temperature', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'add', arguments: '{"numbers":[1,2,3]}' },
    ]);
    assert.equal(response.finishReason, 'tool_calls');
    const pieces = deltas.filter((d) => d.toolCall?.index === 1 && d.toolCall.argumentsDelta);
    assert.ok(pieces.length > 2, 'arguments arrived in pieces');
  });

  test('streaming: a stream cut mid-way is retried from the start (deltas say which attempt)', async () => {
    const server = await serve([reply.text('first attempt text', { dropAfterEvents: 2 }), reply.text('second')]);
    const deltas: ChatDelta[] = [];
    const response = await providerFor(server, { stream: true }).complete(hello, undefined, { onDelta: (d) => deltas.push(d) });
    assert.equal(response.message.content, 'second');
    assert.equal(server.completionRequests.length, 2);
    assert.ok(deltas.some((d) => d.attempt === 1));
    assert.equal(deltas.filter((d) => d.attempt === 2).map((d) => d.content ?? '').join(''), 'second');
  });

  test('streaming: cancelling mid-stream fails the call instead of returning a truncated answer', async () => {
    const server = await serve([reply.text('one two three four five six', { streamChunkChars: 2, streamChunkDelayMs: 50 })]);
    const controller = new AbortController();
    const deltas: ChatDelta[] = [];
    const call = providerFor(server, { stream: true }).complete(hello, controller.signal, {
      onDelta: (d) => {
        deltas.push(d);
        if (deltas.length === 3) controller.abort();
      },
    });
    const err = await rejection(call);
    assert.equal(err.kind, 'cancelled');
    assert.equal(server.completionRequests.length, 1);
  });

  test('streaming: a slow stream body times out too', async () => {
    const server = await serve([reply.text('a b c d e f g h', { streamChunkChars: 1, streamChunkDelayMs: 100 })]);
    const err = await rejection(providerFor(server, { stream: true, timeoutMs: 300, retry: { maxRetries: 0 } }).complete(hello));
    assert.equal(err.kind, 'timeout');
  });
});

test('redact removes the key and anything that looks like a token', () => {
  assert.equal(redact('bad key abc123XYZ!', 'abc123XYZ'), 'bad key [redacted]!');
  assert.equal(redact('Authorization: Bearer xyz.abc', undefined), 'Authorization: Bearer [redacted]');
  assert.equal(redact('Incorrect API key provided: sk-abc12***wxyz', undefined), 'Incorrect API key provided: sk-[redacted]');
});
