import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRemote } from '../../../../../src/extension/pure/backend/remoteAddress';

const SETTING = 'agentchord.backend.remote';

test('host:port and a bare port (host 127.0.0.1)', () => {
  assert.deepEqual(parseRemote('gpu-box:7601', SETTING), { host: 'gpu-box', port: 7601 });
  assert.deepEqual(parseRemote(' 7601 ', SETTING), { host: '127.0.0.1', port: 7601 });
  assert.deepEqual(parseRemote(':80', SETTING), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseRemote('::1:9000', SETTING), { host: '::1', port: 9000 });
  assert.deepEqual(parseRemote('tcp://gpu-box:7400', SETTING), { host: 'gpu-box', port: 7400 });
  assert.deepEqual(parseRemote(' tls://gpu-box:7400', SETTING), { host: 'gpu-box', port: 7400, tls: true });
});

test('a bad value names the setting and the value', () => {
  for (const bad of ['gpu-box', 'gpu-box:', 'gpu-box:0', 'gpu-box:65536', 'gpu-box:80a', '', 'tls://gpu-box', 'http://gpu-box:80']) {
    assert.throws(() => parseRemote(bad, SETTING), new RegExp(`setting ${SETTING.replace(/\./g, '\\.')}: expected host:port .*got '${bad}'`), bad);
  }
});
