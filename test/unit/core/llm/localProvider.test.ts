import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalProvider, type LocalGenerator } from '../../../../src/core/llm/localProvider';
import { ProviderError } from '../../../../src/core/llm/types';
import type { ChatMessage, GenerateOptions } from '../../../../src/protocol/attribution';

/** Records what the adapter asked for and answers with a fixed result. */
function fakeGenerator(result: { text: string; ids: number[]; finishReason: 'stop' | 'length' | 'eos' | 'cancelled'; promptTokens?: number }) {
  const calls: { modelDir: string; messages: ChatMessage[]; options: GenerateOptions }[] = [];
  const generator: LocalGenerator = {
    async generate(modelDir, messages, options) {
      calls.push({ modelDir, messages, options });
      return result;
    },
  };
  return { generator, calls };
}

test('maps the request onto the backend generate call and the result back', async () => {
  const { generator, calls } = fakeGenerator({ text: 'Once upon a time', ids: [1, 2, 3, 4], finishReason: 'eos', promptTokens: 12 });
  const provider = new LocalProvider(generator, '/models/stories', { temperature: 0.8, max_tokens: 32 }, 'story');
  const response = await provider.complete({
    messages: [
      { role: 'system', content: 'Tell stories.' },
      { role: 'user', content: 'Begin.' },
    ],
    parameters: { temperature: 0, stop: '\n', seed: 5 },
  });
  assert.deepEqual(calls[0], {
    modelDir: '/models/stories',
    messages: [
      { role: 'system', content: 'Tell stories.' },
      { role: 'user', content: 'Begin.' },
    ],
    options: { maxTokens: 32, temperature: 0, topP: 1, stop: ['\n'], seed: 5 },
  });
  assert.equal(response.message.content, 'Once upon a time');
  assert.deepEqual(response.usage, { promptTokens: 12, completionTokens: 4 });
  assert.equal(response.finishReason, 'stop');
  assert.equal(response.model, 'story');
  assert.deepEqual(provider.identity, { baseUrl: 'local:/models/stories', model: 'story' });
});

test('tools are refused with a clear error; a backend failure and a cancel become ProviderErrors', async () => {
  const { generator, calls } = fakeGenerator({ text: '', ids: [], finishReason: 'cancelled' });
  const provider = new LocalProvider(generator, '/m');
  await assert.rejects(
    provider.complete({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 't' } }] }),
    (err: unknown) => err instanceof ProviderError && err.kind === 'bad_request' && /cannot call tools/.test(err.message),
  );
  assert.equal(calls.length, 0);
  await assert.rejects(provider.complete({ messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => err instanceof ProviderError && err.kind === 'cancelled');
  const failing = new LocalProvider({ generate: () => Promise.reject(new Error('backend exited')) }, '/m');
  await assert.rejects(failing.complete({ messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => err instanceof ProviderError && err.kind === 'server' && /local:\/m.*backend exited/.test(err.message));
});
