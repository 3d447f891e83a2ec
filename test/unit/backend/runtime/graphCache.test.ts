import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedGraph, defaultCacheDir, graphCacheKey, modelDirIdentity } from '../../../../src/backend/runtime/graphCache';
import { sharedPath } from '../../repo';

function counter(bytes: number[]) {
  const calls = { n: 0 };
  return { calls, build: () => (calls.n++, new Uint8Array(bytes)) };
}

test('miss builds and stores; hit reads without building; another key builds again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-cache-'));
  const { calls, build } = counter([1, 2, 3, 4]);
  const first = cachedGraph(dir, ['forward', { dtype: 'float32' }], build);
  assert.equal(calls.n, 1);
  assert.deepEqual([...readFileSync(first)], [1, 2, 3, 4]);
  assert.match(first, /graphs\/[0-9a-f]{64}\.onnx$/);
  assert.equal(cachedGraph(dir, ['forward', { dtype: 'float32' }], build), first);
  assert.equal(calls.n, 1);
  const other = cachedGraph(dir, ['forward', { dtype: 'float16' }], build);
  assert.notEqual(other, first);
  assert.equal(calls.n, 2);
  // Only finished entries remain: no temp files.
  assert.deepEqual(readdirSync(join(dir, 'graphs')).filter((n) => n.endsWith('.tmp')), []);
});

test('a truncated, overwritten or meta-less entry is rebuilt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-cache-'));
  const { calls, build } = counter([9, 8, 7, 6, 5]);
  const path = cachedGraph(dir, ['k'], build);
  truncateSync(path, 2);
  assert.equal(cachedGraph(dir, ['k'], build), path);
  assert.equal(calls.n, 2);
  assert.deepEqual([...readFileSync(path)], [9, 8, 7, 6, 5]);
  writeFileSync(path, new Uint8Array([0, 0, 0, 0, 0])); // same size, wrong bytes
  cachedGraph(dir, ['k'], build);
  assert.equal(calls.n, 3);
  writeFileSync(path.replace(/\.onnx$/, '.json'), '{');
  cachedGraph(dir, ['k'], build);
  assert.equal(calls.n, 4);
  assert.deepEqual([...readFileSync(path)], [9, 8, 7, 6, 5]);
});

test('the key is a stable JSON: object key order does not matter, values do', () => {
  assert.equal(graphCacheKey([{ a: 1, b: [2, 3] }]), graphCacheKey([{ b: [2, 3], a: 1 }]));
  assert.notEqual(graphCacheKey([{ a: 1 }]), graphCacheKey([{ a: 2 }]));
});

test('model identity follows config.json and the tensor index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-model-'));
  cpSync(sharedPath('models/stories260k'), dir, { recursive: true });
  const before = modelDirIdentity(dir);
  assert.deepEqual(modelDirIdentity(sharedPath('models/stories260k')), before);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, rms_norm_eps: 1e-6 }));
  const after = modelDirIdentity(dir);
  assert.notEqual(after.config, before.config);
  assert.equal(after.tensors, before.tensors);
  // Rewriting the safetensors header (here: one byte of a tensor's metadata) changes the tensor identity.
  const weights = readFileSync(join(dir, 'model.safetensors'));
  const headerLength = Number(weights.readBigUInt64LE(0));
  const header = weights.subarray(8, 8 + headerLength).toString();
  const changed = header.replace(/"F32"/, '"F16"');
  assert.notEqual(changed, header);
  weights.write(changed, 8);
  writeFileSync(join(dir, 'model.safetensors'), weights);
  assert.notEqual(modelDirIdentity(dir).tensors, before.tensors);
});

test('default cache dir: $AGENTCHORD_CACHE, else ~/.cache/agentchord', () => {
  const saved = process.env.AGENTCHORD_CACHE;
  try {
    process.env.AGENTCHORD_CACHE = '/tmp/some-cache';
    assert.equal(defaultCacheDir(), '/tmp/some-cache');
    delete process.env.AGENTCHORD_CACHE;
    assert.equal(defaultCacheDir(), join(homedir(), '.cache', 'agentchord'));
  } finally {
    if (saved === undefined) delete process.env.AGENTCHORD_CACHE;
    else process.env.AGENTCHORD_CACHE = saved;
  }
});
