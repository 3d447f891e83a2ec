// The backend protocol over a real child process: the real server code (runBackend) with a fake model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { BackendClient } from '../../../../src/core/backend/client';
import { BackendAbortError, BackendCrashedError, BackendRequestError, BackendTimeoutError } from '../../../../src/core/backend/errors';
import { BackendErrorCodes, InitializeRequest, PROTOCOL_VERSION, StatusRequest } from '../../../../src/protocol/backend';
import type { AttributionRequest } from '../../../../src/protocol/attribution';
import { buildFakeBackend, fakeModelDir } from '../../backend/server/helpers';
import { version } from '../../../../package.json';

let backendPath: string;
const modelDir = fakeModelDir();
before(async () => {
  backendPath = await buildFakeBackend();
});

const request: AttributionRequest = {
  inputIds: [1, 10, 20, 30, 40, 50],
  prefixLength: 2,
  targetStart: 4,
  spans: [
    { id: 'a', start: 2, end: 4 },
    { id: 'b', start: 3, end: 6 },
  ],
};

function waitFor<T>(subscribe: (listener: (value: T) => void) => unknown, predicate: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    subscribe((value) => {
      if (predicate(value)) resolve(value);
    });
  });
}

describe('backend client over stdio (fake model)', { timeout: 300_000 }, () => {
  let client: BackendClient;
  before(async () => {
    client = new BackendClient({ backendPath, backendArgs: ['--device', 'cpu'] });
  });
  after(async () => {
    await client.dispose();
  });

  test('handshake reports protocol, backend version and device', async () => {
    const info = await client.start();
    assert.equal(info.protocolVersion, PROTOCOL_VERSION);
    assert.equal(info.backendVersion, version);
    assert.equal(info.device.device, 'cpu');
    assert.deepEqual(info.device.providers, ['cpu']);
  });

  test('loadModel is idempotent by folder and device; status lists the model, memory and uptime', async () => {
    const first = await client.loadModel({ dir: modelDir });
    const second = await client.loadModel({ dir: modelDir, device: 'cpu' });
    assert.equal(first.modelId, second.modelId);
    assert.equal(first.info.vocabSize, 259);
    assert.equal(first.info.tokenizer.bosId, 1);
    const status = await client.status();
    assert.deepEqual(status.loadedModels.map((m) => m.modelId), [first.modelId]);
    assert.equal(status.device.device, 'cpu');
    assert.deepEqual(status.providers, ['cpu']);
    assert.ok(status.memory.rss > 0 && status.memory.heapUsed > 0);
    assert.ok(status.uptimeSeconds >= 0);
    assert.equal(status.pid, client.info?.pid);
  });

  test('errors name the parameter at fault', async () => {
    await assert.rejects(client.loadModel({ dir: '/no/such/model' }), (err: BackendRequestError) => {
      assert.equal(err.code, BackendErrorCodes.InvalidParams);
      assert.equal(err.field, 'dir');
      assert.match(err.message, /model folder not found: \/no\/such\/model/);
      return true;
    });
    await assert.rejects(client.loadModel({ dir: '/tmp' }), (err: BackendRequestError) => err.code === BackendErrorCodes.ModelError && /config\.json/.test(err.message));
    const { modelId } = await client.loadModel({ dir: modelDir });
    const bad = { ...request, spans: [{ id: 'a', start: 1, end: 3 }] };
    await assert.rejects(client.attribute(modelId, bad), (err: BackendRequestError) => {
      assert.equal(err.code, BackendErrorCodes.InvalidParams);
      assert.equal(err.field, 'request.spans[0].start');
      assert.match(err.message, /^request\.spans\[0\]\.start: 1 is inside the prefix \(prefixLength 2\)/);
      return true;
    });
    await assert.rejects(client.attributeBatch(modelId, [request, { ...request, inputIds: [1, 2, 300, 4, 5, 6] }]), (err: BackendRequestError) => {
      assert.equal(err.field, 'requests[1].inputIds[2]');
      assert.match(err.message, /300 is outside the vocabulary \(size 259\)/);
      return true;
    });
    await assert.rejects(client.loadModel({ dir: modelDir, device: 'tpu' as never }), (err: BackendRequestError) => err.field === 'device' && /expected auto, cpu, cuda or webgpu, got "tpu"/.test(err.message));
    await assert.rejects(client.attribute('nope', request), (err: BackendRequestError) => err.field === 'modelId' && /no model 'nope'/.test(err.message));
  });

  test('attribute, attributeBatch, tokenize and streamed generate', async () => {
    const { modelId } = await client.loadModel({ dir: modelDir });
    const result = await client.attribute(modelId, request);
    assert.deepEqual(result.tokens.map((t) => t.l1), [20, 30, 40, 50]);
    assert.deepEqual(result.connections.b, { meanL1: 40, maxL1: 50, meanGradInput: -40, maxGradInput: -30 });
    const batch = await client.attributeBatch(modelId, [request, request]);
    assert.equal(batch.length, 2);
    assert.deepEqual(batch[1], result);

    const tokens = await client.tokenize({ modelId, segments: ['ab', 'c'] });
    assert.deepEqual(tokens.ids, [1, 100, 101, 102]);
    assert.deepEqual(tokens.ranges, [[1, 3], [3, 4]]);
    assert.deepEqual(tokens.pieces, ['<s>', 'a', 'b', 'c']);

    const streamed: string[] = [];
    const generated = await client.generate({ modelId, prompt: 'hello', options: { maxTokens: 10 } }, { onToken: (_id, text) => streamed.push(text) });
    assert.equal(generated.text, 'olleh');
    assert.equal(streamed.join(''), 'olleh');
  });

  test('an aborted request is cancelled in the backend too, and the backend stays usable', { timeout: 30_000 }, async () => {
    const { modelId } = await client.loadModel({ dir: modelDir });
    const slow = { ...request, spans: [{ id: 'slow', start: 2, end: 3 }] };
    const abort = new AbortController();
    const cancelledInBackend = waitFor(client.onStderr, (line) => line.includes('fake attribute cancelled'));
    const started = Date.now();
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(client.attribute(modelId, slow, { signal: abort.signal }), BackendAbortError);
    assert.ok(Date.now() - started < 5000);
    await cancelledInBackend;

    const timedOutInBackend = waitFor(client.onStderr, (line) => line.includes('fake attribute cancelled'));
    await assert.rejects(client.attribute(modelId, slow, { timeoutMs: 200 }), BackendTimeoutError);
    await timedOutInBackend;
    assert.equal((await client.attribute(modelId, request)).logProb, -6);
  });
});

describe('backend crash and restart', { timeout: 300_000 }, () => {
  test('kill -9: calls in flight fail with the last stderr lines, the backend restarts with growing delays, then gives up', { timeout: 30_000 }, async () => {
    const client = new BackendClient({ backendPath, backendArgs: ['--device', 'cpu'], maxRestarts: 2, restartDelayMs: 500 });
    try {
      const { modelId } = await client.loadModel({ dir: modelDir });
      const delays: number[] = [];
      for (let round = 0; round < 2; round++) {
        const { pid } = await client.status();
        const inFlight = client.attribute(modelId, { ...request, spans: [{ id: 'slow', start: 2, end: 3 }] });
        const exited = waitFor(client.onExit);
        const restarted = waitFor(client.onRestarted);
        await new Promise((r) => setTimeout(r, 50));
        process.kill(pid, 'SIGKILL');
        await assert.rejects(inFlight, (err: BackendCrashedError) => {
          assert.ok(err instanceof BackendCrashedError);
          assert.match(err.message, /the backend exited \(signal SIGKILL\)/);
          assert.ok(err.stderrTail.some((line) => line.includes('fake model loaded')), err.stderrTail.join('\n'));
          return true;
        });
        const exit = await exited;
        const exitedAt = Date.now();
        assert.equal(exit.signal, 'SIGKILL');
        assert.equal(exit.willRestart, true);
        await restarted;
        delays.push(Date.now() - exitedAt);
        // The model was reloaded under the same id.
        const status = await client.status();
        assert.notEqual(status.pid, pid);
        assert.deepEqual(status.loadedModels.map((m) => m.modelId), [modelId]);
      }
      // Restart = delay + start-up; the delay doubles (500, then 1000 ms), start-up costs about the same each time.
      assert.ok(delays[0] >= 480, `first restart after ${delays[0]} ms`);
      assert.ok(delays[1] >= 980, `second restart after ${delays[1]} ms`);
      assert.ok(delays[1] - delays[0] >= 400, `backoff did not grow: ${delays.join(', ')} ms`);

      const exited = waitFor(client.onExit);
      process.kill((await client.status()).pid, 'SIGKILL');
      assert.equal((await exited).willRestart, false);
      await assert.rejects(client.status(), /gave up after 2 restarts/);
    } finally {
      await client.dispose();
    }
  });

  test('dispose shuts the backend down with the shutdown request (exit code 0, no restart)', { timeout: 30_000 }, async () => {
    const client = new BackendClient({ backendPath, backendArgs: ['--device', 'cpu'] });
    await client.start();
    const exited = waitFor(client.onExit);
    await client.dispose();
    const exit = await exited;
    assert.equal(exit.code, 0);
    assert.equal(exit.expected, true);
    assert.equal(exit.willRestart, false);
  });
});

describe('handshake rules (raw JSON-RPC)', { timeout: 300_000 }, () => {
  test('a protocol version mismatch and a request before initialize are clear errors', async () => {
    const child = spawn(process.execPath, [backendPath, '--stdio', '--device', 'cpu'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.listen();
    try {
      await assert.rejects(connection.sendRequest(StatusRequest), (err: ResponseError<unknown>) => err.code === BackendErrorCodes.NotInitialized);
      await assert.rejects(connection.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION + 1 }), (err: ResponseError<unknown>) => {
        assert.equal(err.code, BackendErrorCodes.ProtocolMismatch);
        assert.match(err.message, new RegExp(`client speaks ${PROTOCOL_VERSION + 1}.*speaks ${PROTOCOL_VERSION}`));
        return true;
      });
      const ok = await connection.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION });
      assert.equal(ok.protocolVersion, PROTOCOL_VERSION);
    } finally {
      connection.dispose();
      child.kill('SIGKILL');
    }
  });
});
