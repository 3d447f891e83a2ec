// dist/backend.js itself (real loadModel on stories260k) over stdio and TCP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';
import { BackendClient } from '../../../../src/core/backend/client';
import { BackendRequestError } from '../../../../src/core/backend/errors';
import { BackendErrorCodes, StatusRequest } from '../../../../src/protocol/backend';
import { sharedPath } from '../../repo';
import { realBackend, startTcpBackend } from './helpers';

const STORIES = sharedPath('models/stories260k');
const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-backend-cache-'));
let backendPath: string;
before(async () => {
  backendPath = await realBackend();
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('dist/backend.js over stdio', { timeout: 300_000 }, () => {
  let client: BackendClient;
  before(() => {
    client = new BackendClient({ backendPath, backendArgs: ['--device', 'auto', '--cache-dir', cacheDir] });
  });
  after(() => client.dispose());

  test('handshake and status: cpu, with the reason cuda was not used', async () => {
    const info = await client.start();
    assert.equal(info.device.device, 'cpu');
    assert.match(info.device.reason ?? '', /^cuda: \S/);
    assert.ok(client.stderrTail.some((l) => l.includes('device auto: not using cuda')), client.stderrTail.join('\n'));
    const status = await client.status();
    assert.deepEqual(status.loadedModels, []);
    assert.equal(status.pid, info.pid);
  });

  test('stories260k: tokenize, attribute (span aggregates from token values), streamed generate', async () => {
    await assert.rejects(client.loadModel({ dir: STORIES, device: 'cuda' }), (err: BackendRequestError) => {
      assert.equal(err.code, BackendErrorCodes.InvalidParams);
      assert.equal(err.field, 'device');
      assert.match(err.message, /^device: device 'cuda' is not usable: \S/);
      return true;
    });
    const { modelId, info } = await client.loadModel({ dir: STORIES });
    assert.equal(info.vocabSize, 512);
    assert.equal(info.dtype, 'float32');
    const { ids, ranges } = await client.tokenize({ modelId, segments: ['Lily had a red ball.', ' Lily gave the ball to'] });
    assert.equal(ids[0], 1);
    const [first, second] = ranges!;
    const request = { inputIds: [...ids, ...(await client.tokenize({ modelId, text: ' Tom', addSpecialTokens: false })).ids], prefixLength: 1, targetStart: second[1], spans: [{ id: 'first', start: first[0], end: first[1] }, { id: 'second', start: second[0], end: second[1] }] };
    const result = await client.attribute(modelId, request);
    assert.ok(Number.isFinite(result.logProb) && result.logProb < 0);
    assert.equal(result.tokens.length, request.inputIds.length - 1);
    for (const span of request.spans) {
      const tokens = result.tokens.slice(span.start - 1, span.end - 1);
      const c = result.connections[span.id];
      assert.ok(Math.abs(c.meanL1 - mean(tokens.map((t) => t.l1))) < 1e-9);
      assert.equal(c.maxL1, Math.max(...tokens.map((t) => t.l1)));
      assert.ok(Math.abs(c.meanGradInput - mean(tokens.map((t) => t.gradInput))) < 1e-9);
      assert.equal(c.maxGradInput, Math.max(...tokens.map((t) => t.gradInput)));
    }

    const streamed: string[] = [];
    const generated = await client.generate({ modelId, prompt: 'Once upon a time', options: { maxTokens: 20 } }, { onToken: (_id, text) => streamed.push(text) });
    assert.equal(generated.ids.length, 20);
    assert.equal(streamed.join(''), generated.text);
    assert.match(generated.text, /[a-z]{3}/);
  });
});

describe('dist/backend.js over TCP', { timeout: 300_000 }, () => {
  test('the right token connects; a wrong token is refused and the connection closed', { timeout: 30_000 }, async () => {
    const { child, port } = await startTcpBackend(backendPath, { AGENTCHORD_BACKEND_TOKEN: 'secret-token' });
    try {
      const good = new BackendClient({ connect: { host: '127.0.0.1', port, token: 'secret-token' } });
      const info = await good.start();
      assert.equal(info.device.device, 'cpu');
      assert.equal((await good.status()).pid, child.pid);

      const bad = new BackendClient({ connect: { host: '127.0.0.1', port, token: 'wrong' }, maxRestarts: 0 });
      const closed = new Promise((resolve) => bad.onExit(resolve));
      await assert.rejects(bad.start(), (err: BackendRequestError) => err.code === BackendErrorCodes.Unauthorized && /wrong backend token/.test(err.message));
      await closed;
      await bad.dispose();
      // The good client is unaffected.
      assert.equal((await good.status()).pid, child.pid);
      await good.dispose();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a first message other than initialize closes the connection unanswered; a generated token is printed once', { timeout: 30_000 }, async () => {
    const { child, port, stderr } = await startTcpBackend(backendPath, { AGENTCHORD_BACKEND_TOKEN: '' });
    try {
      const printed = stderr.filter((l) => l.startsWith('AGENTCHORD_BACKEND_TOKEN='));
      assert.equal(printed.length, 1);
      const token = printed[0].slice('AGENTCHORD_BACKEND_TOKEN='.length);
      assert.ok(token.length >= 32);

      const socket = connect({ host: '127.0.0.1', port });
      const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
      connection.listen();
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const answer = connection.sendRequest(StatusRequest).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      await closed;
      connection.dispose(); // rejects the request still waiting for an answer
      assert.match(await answer, /disposed/);

      const client = new BackendClient({ connect: { host: '127.0.0.1', port, token } });
      assert.equal((await client.start()).device.device, 'cpu');
      await client.dispose();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
