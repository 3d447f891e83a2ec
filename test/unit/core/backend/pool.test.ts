/**
 * pooledModels over fake clients: calls spread with per-backend concurrency, a failing backend's calls go to the
 * others, an invalid request is not retried, and a pool whose backends all failed says so, naming them.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { AttributionRequest, AttributionResult } from '../../../../src/protocol/attribution';
import { BackendErrorCodes } from '../../../../src/protocol/backend';
import type { BackendClient } from '../../../../src/core/backend/client';
import { BackendCrashedError, BackendRequestError } from '../../../../src/core/backend/errors';
import { isBackendFailure, pooledModels } from '../../../../src/core/backend/pool';
import { remoteModelName } from '../../../../src/core/backend/remoteModels';

interface Fake {
  client: BackendClient;
  attributed: number[];
  maxActive: number;
  loadedDirs: string[];
}

/** A client whose attribute answers logProb = inputIds[0] after a tick; `fail(n)` decides the n-th call's error. */
function fakeClient(options: { modelsByName?: boolean; fail?: (n: number) => Error | undefined } = {}): Fake {
  let active = 0;
  let n = 0;
  const fake: Fake = { client: undefined as unknown as BackendClient, attributed: [], maxActive: 0, loadedDirs: [] };
  const client = {
    start: async () => ({ protocolVersion: 1, backendVersion: 'test', device: { device: 'cpu', providers: [] }, pid: 1, ...(options.modelsByName ? { modelsByName: true } : {}) }),
    loadModel: async ({ dir }: { dir: string }) => {
      fake.loadedDirs.push(dir);
      return { modelId: 'm', info: { dir, vocabSize: 10, maxPositions: 64, tokenizer: { hasChatTemplate: false } } };
    },
    tokenize: async () => ({ ids: [1, 2], ranges: [[0, 2]], pieces: ['a', 'b'], texts: ['a', 'b'] }),
    attribute: async (_id: string, request: AttributionRequest): Promise<AttributionResult> => {
      const mine = n++;
      active++;
      fake.maxActive = Math.max(fake.maxActive, active);
      try {
        await new Promise((r) => setImmediate(r));
        const err = options.fail?.(mine);
        if (err) throw err;
        fake.attributed.push(request.inputIds[0]);
        return { logProb: request.inputIds[0], tokens: [], connections: {} };
      } finally {
        active--;
      }
    },
    dispose: async () => {},
  };
  fake.client = client as unknown as BackendClient;
  return fake;
}

const request = (k: number): AttributionRequest => ({ inputIds: [k, 1, 2], prefixLength: 0, targetStart: 1, spans: [] });

test('calls are spread over the backends, never more in flight on one than its concurrency', async () => {
  const a = fakeClient();
  const b = fakeClient();
  const pool = pooledModels([
    { client: a.client, name: 'a', concurrency: 2 },
    { client: b.client, name: 'b', concurrency: 1 },
  ]);
  const model = await pool.model('/models/m', 'cpu');
  const results = await Promise.all(Array.from({ length: 12 }, (_, k) => model.attribute(request(k))));
  assert.deepEqual(results.map((r) => r.logProb), Array.from({ length: 12 }, (_, k) => k), 'each result belongs to its own request');
  assert.ok(a.attributed.length > 0 && b.attributed.length > 0, 'both backends worked');
  assert.equal(a.attributed.length + b.attributed.length, 12);
  assert.ok(a.maxActive <= 2 && b.maxActive <= 1, `concurrency held (a ${a.maxActive}, b ${b.maxActive})`);
  assert.equal(a.maxActive, 2, 'a used both of its slots');
});

test('a backend that crashes has its calls retried on another; results are the same', async () => {
  const dead = fakeClient({ fail: () => new BackendCrashedError('the backend connection closed', []) });
  const live = fakeClient();
  const failovers: string[] = [];
  const pool = pooledModels([
    { client: dead.client, name: 'tcp://dead:1', concurrency: 2 },
    { client: live.client, name: 'tcp://live:2', concurrency: 1 },
  ], { onFailover: (e) => failovers.push(e.backend) });
  const model = await pool.model('/models/m', 'cpu');
  const results = await Promise.all(Array.from({ length: 6 }, (_, k) => model.attribute(request(k))));
  assert.deepEqual(results.map((r) => r.logProb), [0, 1, 2, 3, 4, 5]);
  assert.equal(live.attributed.length, 6, 'every call ended on the live backend');
  assert.ok(failovers.length >= 1 && failovers.every((f) => f === 'tcp://dead:1'));
});

test('a backend draining for shutdown counts as failed (the call moves on)', async () => {
  const draining = fakeClient({ fail: () => new BackendRequestError('attribute', BackendErrorCodes.ShuttingDown, 'the backend is shutting down') });
  const live = fakeClient();
  const pool = pooledModels([{ client: draining.client, name: 'd' }, { client: live.client, name: 'l' }]);
  const model = await pool.model('/m', 'cpu');
  assert.equal((await model.attribute(request(7))).logProb, 7);
  assert.deepEqual(live.attributed, [7]);
});

test('an invalid request fails at once and is not sent to another backend', async () => {
  const invalid = new BackendRequestError('attribute', BackendErrorCodes.InvalidParams, 'request.spans[0].start: out of range', 'request.spans[0].start');
  const a = fakeClient({ fail: () => invalid });
  const b = fakeClient({ fail: () => invalid });
  const pool = pooledModels([{ client: a.client, name: 'a' }, { client: b.client, name: 'b' }]);
  const model = await pool.model('/m', 'cpu');
  await assert.rejects(model.attribute(request(1)), (err: unknown) => err === invalid);
  // The first call went to a (the first listed); b never saw it.
  assert.equal(b.maxActive, 0);
  assert.equal(isBackendFailure(invalid), false);
});

test('when every backend failed, the error names each one and why', async () => {
  const crash = () => new BackendCrashedError('the backend connection closed', []);
  const pool = pooledModels([
    { client: fakeClient({ fail: crash }).client, name: 'tcp://gpu1:7400' },
    { client: fakeClient({ fail: crash }).client, name: 'tcp://gpu2:7400' },
  ]);
  const model = await pool.model('/m', 'cpu');
  await assert.rejects(model.attribute(request(1)), /all 2 attribution backends failed: tcp:\/\/gpu1:7400: the backend connection closed; tcp:\/\/gpu2:7400: the backend connection closed/);
});

test('a name-resolving backend (agentchord serve) is sent the model name, a path backend the path', async () => {
  const named = fakeClient({ modelsByName: true });
  const byPath = fakeClient();
  await pooledModels([{ client: named.client, name: 'n' }]).model('/work/models/chord-retrieval', 'cpu');
  await pooledModels([{ client: byPath.client, name: 'p' }]).model('/work/models/chord-retrieval', 'cpu');
  assert.deepEqual(named.loadedDirs, ['chord-retrieval']);
  assert.deepEqual(byPath.loadedDirs, ['/work/models/chord-retrieval']);
  assert.equal(remoteModelName('/cache/models/Qwen/Qwen3-0.6B/main', '/cache/models'), 'Qwen/Qwen3-0.6B');
  assert.equal(remoteModelName('/cache/models/Qwen/Qwen3-0.6B/refs--pr--1', '/cache/models'), 'Qwen/Qwen3-0.6B@refs/pr/1');
  assert.equal(remoteModelName('Qwen/Qwen3-0.6B', '/cache/models'), 'Qwen/Qwen3-0.6B');
});
