import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, sleep, SleepAbortedError } from '../../../../src/core/llm/retry';

const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, maxRetryAfterMs: 5000 };
const headers = (h: Record<string, string>) => new Headers(h);

test('backoff doubles per retry, is capped, and jitter only shortens it by up to the jitter fraction', () => {
  assert.equal(retryDelayMs(1, policy, undefined, () => 0), 100);
  assert.equal(retryDelayMs(2, policy, undefined, () => 0), 200);
  assert.equal(retryDelayMs(3, policy, undefined, () => 0), 400);
  assert.equal(retryDelayMs(10, policy, undefined, () => 0), 1000);
  assert.equal(retryDelayMs(2, policy, undefined, () => 1), 100);
  for (let i = 0; i < 50; i++) {
    const d = retryDelayMs(3, policy);
    assert.ok(d >= 200 && d <= 400, `delay ${d}`);
  }
});

test('Retry-After wins over backoff, capped at maxRetryAfterMs', () => {
  assert.equal(retryDelayMs(1, policy, 2500, () => 0), 2500);
  assert.equal(retryDelayMs(1, policy, 60_000, () => 0), 5000);
});

test('parseRetryAfter reads seconds, HTTP dates and retry-after-ms', () => {
  assert.equal(parseRetryAfter(headers({ 'retry-after': '3' })), 3000);
  assert.equal(parseRetryAfter(headers({ 'retry-after': '0.5' })), 500);
  assert.equal(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:04 GMT' }), now), 4000);
  assert.equal(parseRetryAfter(headers({ 'retry-after': 'soon' })), undefined);
  assert.equal(parseRetryAfter(headers({})), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('sleep waits, and an abort ends it early', async () => {
  const started = Date.now();
  await sleep(30);
  assert.ok(Date.now() - started >= 25);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  const t0 = Date.now();
  await assert.rejects(sleep(10_000, controller.signal), SleepAbortedError);
  assert.ok(Date.now() - t0 < 1000);
  await assert.rejects(sleep(10, AbortSignal.abort()), SleepAbortedError);
});
