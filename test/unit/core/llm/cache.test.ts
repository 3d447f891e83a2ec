import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachingProvider, ResponseCache, cacheDirFor, cacheKey, isSampled } from '../../../../src/core/llm/cache';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import type { ChatRequest } from '../../../../src/core/llm/types';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';

const servers: OpenAITestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(replies = [reply.text('first answer'), reply.text('second answer'), reply.text('third answer')]) {
  const server = await OpenAITestServer.start({ replies });
  servers.push(server);
  const workspace = mkdtempSync(join(tmpdir(), 'agentchord-cache-'));
  const cache = new ResponseCache(cacheDirFor(workspace));
  const endpoint = new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', parameters: { temperature: 0 }, retry: { maxRetries: 0 } });
  return { server, workspace, cache, endpoint, provider: new CachingProvider(endpoint, cache) };
}

const request: ChatRequest = { messages: [{ role: 'user', content: 'What is 2+2?' }] };

describe('response cache', () => {
  test('a repeated request is answered from disk: the server sees no second request', async () => {
    const { server, workspace, provider } = await setup();
    const first = await provider.complete(request);
    assert.equal(first.cached, false);
    const deltas: string[] = [];
    const again = await provider.complete(request, undefined, { onDelta: (d) => deltas.push(d.content ?? '') });
    assert.equal(again.cached, true);
    assert.deepEqual(deltas, ['first answer'], 'a streaming listener still gets the cached text');
    assert.equal(again.message.content, 'first answer');
    assert.deepEqual(again.usage, first.usage);
    assert.equal(server.completionRequests.length, 1);
    // Layout: <workspace>/.agentchord/cache/<2 hex>/<sha256>.json
    const buckets = readdirSync(join(workspace, '.agentchord', 'cache'));
    assert.equal(buckets.length, 1);
    assert.match(buckets[0], /^[0-9a-f]{2}$/);
    const [file] = readdirSync(join(workspace, '.agentchord', 'cache', buckets[0]));
    assert.match(file, new RegExp(`^${buckets[0]}[0-9a-f]{62}\\.json$`));
  });

  test('anything that changes the answer changes the key: messages, tools, parameters, model, endpoint', async () => {
    const { server, provider } = await setup();
    await provider.complete(request);
    await provider.complete({ ...request, parameters: { temperature: 0.5, seed: 1 } });
    await provider.complete({ messages: [{ role: 'user', content: 'What is 3+3?' }] });
    assert.equal(server.completionRequests.length, 3);
    const base = { identity: { baseUrl: 'http://a/v1', model: 'm' }, defaultParameters: {} };
    const k = cacheKey(base, request);
    assert.notEqual(cacheKey({ ...base, identity: { baseUrl: 'http://b/v1', model: 'm' } }, request), k);
    assert.notEqual(cacheKey({ ...base, identity: { baseUrl: 'http://a/v1', model: 'm2' } }, request), k);
    assert.notEqual(cacheKey({ ...base, defaultParameters: { max_tokens: 5 } }, request), k);
    assert.notEqual(cacheKey(base, { ...request, tools: [{ type: 'function', function: { name: 't' } }] }), k);
    // Key order and explicit-undefined parameters do not matter (canonical JSON).
    assert.equal(cacheKey({ ...base, defaultParameters: { a: 1, b: 2 } }, request), cacheKey({ ...base, defaultParameters: { b: 2, a: 1, c: undefined } }, request));
  });

  test('the API key is not part of the key: two keys share cache entries', async () => {
    const { server, cache } = await setup([reply.text('shared')]);
    const withKey = (key: string) =>
      new CachingProvider(new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', apiKeyEnv: 'K', resolveApiKey: () => key }), cache);
    await withKey('sk-one-aaaaaaaaaaaa').complete(request);
    const hit = await withKey('sk-two-bbbbbbbbbbbb').complete(request);
    assert.equal(hit.cached, true);
    assert.equal(server.completionRequests.length, 1);
    const stored = readFileSync(cache.pathFor(cacheKey(withKey('x'), request)), 'utf8');
    assert.ok(!stored.includes('sk-one') && !stored.includes('sk-two'));
  });

  test('a corrupted or truncated entry is ignored and replaced, never a crash', async () => {
    const { server, cache, endpoint, provider } = await setup();
    await provider.complete(request);
    const path = cache.pathFor(cacheKey(endpoint, request));
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.slice(0, Math.floor(good.length / 2))); // truncated
    const afterTruncation = await provider.complete(request);
    assert.equal(afterTruncation.cached, false);
    assert.equal(afterTruncation.message.content, 'second answer');
    assert.equal(server.completionRequests.length, 2);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).response.message.content, 'second answer', 'entry replaced');
    writeFileSync(path, JSON.stringify({ format: 1, key: 'someone else', response: { nonsense: true } }));
    assert.equal((await provider.complete(request)).message.content, 'third answer');
    const hit = await provider.complete(request);
    assert.equal(hit.cached, true);
    assert.equal(hit.message.content, 'third answer');
    assert.equal(server.completionRequests.length, 3);
  });

  test('sampled requests are cached by default; cacheSampled: false always asks the model', async () => {
    const { server, cache, endpoint } = await setup();
    const sampled: ChatRequest = { ...request, parameters: { temperature: 0.9 } };
    assert.equal(isSampled(endpoint, sampled), true);
    assert.equal(isSampled(endpoint, { ...request, parameters: { temperature: 0.9, seed: 3 } }), false);
    assert.equal(isSampled(endpoint, request), false);
    const noSampleCache = new CachingProvider(endpoint, cache, { cacheSampled: false });
    await noSampleCache.complete(sampled);
    await noSampleCache.complete(sampled);
    assert.equal(server.completionRequests.length, 2);
    assert.equal(existsSync(cache.pathFor(cacheKey(endpoint, sampled))), false);
    const cachingAll = new CachingProvider(endpoint, cache);
    await cachingAll.complete(sampled);
    assert.equal((await cachingAll.complete(sampled)).cached, true);
    assert.equal(server.completionRequests.length, 3);
  });

  test('failed calls are not cached', async () => {
    const { server, provider } = await setup([reply.error(400, { message: 'nope' }), reply.text('fine')]);
    await assert.rejects(provider.complete(request), /nope/);
    assert.equal((await provider.complete(request)).message.content, 'fine');
    assert.equal(server.completionRequests.length, 2);
  });
});
