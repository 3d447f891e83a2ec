import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { DeviceUnavailableError, dtypeFor, probeModel, providersFor, selectDevice } from '../../../../src/backend/runtime/device';

// The test machines have no usable CUDA or WebGPU adapter (the GPU checks run elsewhere); if one ever has, these
// expectations name what changed.
test('auto selects cpu here and logs why cuda and webgpu were not used', async () => {
  const logs: string[] = [];
  const selection = await selectDevice('auto', (m) => logs.push(m));
  assert.equal(selection.device, 'cpu');
  assert.deepEqual(selection.providers, ['cpu']);
  assert.ok(logs.some((l) => /^device auto: not using cuda: \S/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /^device auto: not using webgpu: \S/.test(l)), logs.join('\n'));
  assert.match(selection.reason ?? '', /cuda: .+; webgpu: /);
  assert.ok(logs.includes('device auto: using cpu'));
});

test('a forced device that does not work is an error naming it; a working one is used', async () => {
  await assert.rejects(selectDevice('cuda'), (err: Error) => err instanceof DeviceUnavailableError && /^device 'cuda' is not usable: \S/.test(err.message));
  const cpu = await selectDevice('cpu');
  assert.deepEqual(cpu, { device: 'cpu', providers: ['cpu'] });
});

test('the probe graph is a valid ONNX Add model', async () => {
  const session = await ort.InferenceSession.create(probeModel());
  const out = await session.run({ A: new ort.Tensor('float32', new Float32Array([1.5]), [1]), B: new ort.Tensor('float32', new Float32Array([2]), [1]) });
  assert.equal((out.C.data as Float32Array)[0], 3.5);
  await session.release();
});

test('fp32 on cpu, fp16 on GPUs, cpu as the fallback provider', () => {
  assert.equal(dtypeFor('cpu'), 'float32');
  assert.equal(dtypeFor('cuda'), 'float16');
  assert.equal(dtypeFor('webgpu'), 'float16');
  assert.deepEqual(providersFor('cuda'), ['cuda', 'cpu']);
});

test('auto remembers failed GPU probes in the cache folder, so later runs skip them', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const cacheDir = mkdtempSync(join(tmpdir(), 'agentchord-probe-'));
  const first: string[] = [];
  await selectDevice('auto', (m) => first.push(m), { cacheDir });
  assert.ok(!first.some((l) => l.includes('remembered')), first.join('\n'));
  const memory = JSON.parse(readFileSync(join(cacheDir, 'device-probe.json'), 'utf8'));
  assert.deepEqual(Object.keys(memory.failed).sort(), ['cuda', 'webgpu']);
  const second: string[] = [];
  const selection = await selectDevice('auto', (m) => second.push(m), { cacheDir });
  assert.equal(selection.device, 'cpu');
  assert.ok(second.some((l) => /^device auto: not using cuda: .+\(remembered from an earlier probe\)$/.test(l)), second.join('\n'));
  // A forced device is always probed for real.
  await assert.rejects(selectDevice('cuda', () => {}, { cacheDir }), DeviceUnavailableError);
});

test('probeDevice gives the verdict `agentchord gpu status` shows: undefined for a working device, else why', async () => {
  const { probeDevice } = await import('../../../../src/backend/runtime/device');
  assert.equal(await probeDevice('cpu'), undefined);
  const why = await probeDevice('cuda');
  assert.ok(typeof why === 'string' && why.length > 0 && !why.includes('\n'), String(why));
});
