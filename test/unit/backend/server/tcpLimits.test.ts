// A TCP backend cannot be tied up by a peer without the token (issue 12): frames over the limit, headers that never
// end, peers that never authenticate and floods of such peers are dropped, and the backend keeps serving its client.
// The guard's framing logic is checked on its own first, then the real process code with the fake model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { FrameGuard } from '../../../../src/backend/server/frameGuard';
import { BackendClient } from '../../../../src/core/backend/client';
import { buildFakeBackend, startTcpBackend } from './helpers';

describe('FrameGuard', () => {
  const guard = (maxFrameBytes = 100) => new FrameGuard({ maxHeaderBytes: 64, maxFrameBytes: () => maxFrameBytes });
  const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  test('passes well-formed frames, however the bytes are cut into chunks', () => {
    const bytes = Buffer.from(frame('{"a":1}') + frame('{"b":"' + 'x'.repeat(80) + '"}') + frame('{}'));
    for (const size of [1, 3, 7, bytes.length]) {
      const g = guard();
      for (let i = 0; i < bytes.length; i += size) assert.equal(g.push(bytes.subarray(i, i + size)), undefined, `chunks of ${size}`);
    }
  });

  test('refuses a frame that announces more than the limit, before its body arrives', () => {
    assert.match(guard().push(Buffer.from('Content-Length: 2000000000\r\n\r\n')) ?? '', /a frame of 2000000000 bytes \(the limit is 100\)/);
  });

  test('refuses a header that never ends, and one without a Content-Length', () => {
    const g = guard();
    assert.equal(g.push(Buffer.from('X-Junk: ' + 'y'.repeat(40))), undefined);
    assert.match(g.push(Buffer.from('y'.repeat(40))) ?? '', /header longer than 64 bytes/);
    assert.match(guard().push(Buffer.from('Content-Type: x\r\n\r\n')) ?? '', /without a valid Content-Length/);
  });

  test('the limit is read at each frame (it grows after authentication)', () => {
    let limit = 10;
    const g = new FrameGuard({ maxHeaderBytes: 64, maxFrameBytes: () => limit });
    assert.equal(g.push(Buffer.from(frame('0123456789'))), undefined);
    limit = 1000;
    assert.equal(g.push(Buffer.from(frame('z'.repeat(500)))), undefined);
  });
});

describe('the TCP backend against peers without the token', { timeout: 120_000 }, () => {
  let child: ChildProcess;
  let port: number;
  let stderr: string[];
  const token = 'tcp-limits-token';
  before(async () => {
    ({ child, port, stderr } = await startTcpBackend(await buildFakeBackend(), { AGENTCHORD_BACKEND_TOKEN: token }, ['--handshake-timeout', '1']));
  });
  after(() => child?.kill('SIGKILL'));

  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.on('error', reject);
    });
  /** Resolves with the milliseconds until the server closed the socket (or rejects after `within` ms). */
  const closedWithin = (socket: Socket, within: number) =>
    new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => reject(new Error(`the server did not close the socket within ${within} ms`)), within);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
      socket.on('error', () => {});
    });
  /** The backend's stderr arrives on its own stream: wait for the line rather than expect it with the close. */
  const logged = async (pattern: RegExp) => {
    for (let waited = 0; waited < 5000 && !stderr.some((l) => pattern.test(l)); waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.ok(stderr.some((l) => pattern.test(l)), `no log line matching ${pattern}:\n${stderr.join('\n')}`);
  };
  const stillServes = async () => {
    const client = new BackendClient({ connect: { host: '127.0.0.1', port, token }, maxRestarts: 0 });
    try {
      await client.start();
      assert.equal((await client.status()).pid, child.pid);
    } finally {
      await client.dispose();
    }
  };

  test('a 2 GB frame header is refused at once, before its body is buffered', async () => {
    const socket = await open();
    const closed = closedWithin(socket, 5000);
    socket.write('Content-Length: 2000000000\r\n\r\n');
    socket.write(Buffer.alloc(1024 * 1024, 0x61));
    await closed;
    await logged(/closed a TCP connection: the peer sent a frame of 2000000000 bytes/);
    await stillServes();
  });

  test('a header that never ends is cut off at 8 KiB', async () => {
    const socket = await open();
    const closed = closedWithin(socket, 5000);
    socket.write('X-Junk: ' + 'y'.repeat(20_000));
    await closed;
    await logged(/header longer than 8192 bytes/);
  });

  test('a peer that never authenticates is dropped after the handshake time-out', async () => {
    const socket = await open();
    const ms = await closedWithin(socket, 5000);
    assert.ok(ms >= 800, `closed after ${ms} ms, before the 1 s time-out`);
    await logged(/no valid initialize within 1 s/);
  });

  test('at most 16 peers may wait to authenticate at once; the rest are refused, and the client still connects', async () => {
    const waiting = await Promise.all(Array.from({ length: 16 }, open));
    const extra = await open();
    await closedWithin(extra, 2000);
    await logged(/16 connections are already waiting to authenticate/);
    for (const s of waiting) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await stillServes();
  });
});
