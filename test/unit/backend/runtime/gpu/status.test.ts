// `agentchord gpu status` on a fake file-system root with canned ldconfig/nvidia-smi output and injected probes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device } from '../../../../../src/protocol/attribution';
import { formatGpuStatus, gpuStatus, type StatusHost } from '../../../../../src/backend/runtime/gpu/status';
import { gpuInstallDir } from '../../../../../src/backend/runtime/gpu/install';
import { minimalElf } from './elfFixture';
import { fakeOrt, HAS_CUDA_MANIFEST } from './fakeFeed';

const work = mkdtempSync(join(tmpdir(), 'agentchord-gpu-status-'));
after(() => rmSync(work, { recursive: true, force: true }));

function host(root: string, over: Partial<StatusHost> = {}, verdicts: Partial<Record<Device, string>> = {}): StatusHost {
  return { root, env: {}, ldconfig: () => undefined, nvidiaSmi: () => undefined, probe: async (d) => verdicts[d], ...over };
}

const check = (report: Awaited<ReturnType<typeof gpuStatus>>, provider: Device, what: RegExp) => {
  const found = report.providers.find((p) => p.provider === provider)!.checks.find((c) => what.test(c.what));
  assert.ok(found, `${provider}: no check matching ${what}`);
  return found;
};

test('a machine with a driver, some CUDA libraries and the provider installed: what is found, where, and what is missing', { skip: !HAS_CUDA_MANIFEST }, async () => {
  const root = join(work, 'gpu-box');
  const ort = fakeOrt(join(work, 'ort-1'));
  const cacheDir = join(work, 'cache-1');
  // The provider as `gpu install` leaves it: in the cache, with install.json, linked into the binary folder.
  const dir = gpuInstallDir(ort, 'cuda12', cacheDir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'libonnxruntime_providers_cuda.so'), minimalElf(['libonnxruntime_providers_shared.so', 'libcudart.so.12', 'libcudnn.so.9', 'libstdc++.so.6', 'libc.so.6']));
  writeFileSync(join(dir, 'install.json'), JSON.stringify({ url: 'http://mirror/x.nupkg', sha512: 'abc', files: { 'libonnxruntime_providers_cuda.so': 'x' } }));
  symlinkSync(join(dir, 'libonnxruntime_providers_cuda.so'), join(ort.bindingDir, 'libonnxruntime_providers_cuda.so'));
  mkdirSync(join(root, 'proc/driver/nvidia'), { recursive: true });
  writeFileSync(join(root, 'proc/driver/nvidia/version'), 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version: gcc 12\n');
  mkdirSync(join(root, 'opt/cuda/lib'), { recursive: true });
  writeFileSync(join(root, 'opt/cuda/lib/libcudart.so.12'), '');
  mkdirSync(join(root, 'usr/share/vulkan/icd.d'), { recursive: true });
  writeFileSync(join(root, 'usr/share/vulkan/icd.d/nvidia_icd.json'), '{}');
  const ldconfig = [
    '3 libs found in cache `/etc/ld.so.cache\'',
    '\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1',
    '\tlibvulkan.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  ].join('\n');
  const report = await gpuStatus(host(root, { env: { LD_LIBRARY_PATH: '/opt/cuda/lib' }, ldconfig: () => ldconfig }, { cuda: 'libcudnn.so.9: cannot open shared object file' }), { ortDir: ort.dir, cacheDir });

  assert.equal(report.ortVersion, ort.version);
  assert.equal(report.cache[0].installed, true);
  assert.deepEqual(check(report, 'cuda', /^NVIDIA driver/), { what: 'NVIDIA driver', ok: true, detail: '550.54.15 (/proc/driver/nvidia/version)' });
  assert.equal(check(report, 'cuda', /^libcuda\.so\.1/).detail, '/usr/lib/x86_64-linux-gnu/libcuda.so.1');
  assert.match(check(report, 'cuda', /^libonnxruntime_providers_cuda\.so/).detail, /^linked to .*linux-x64-cuda12\/libonnxruntime_providers_cuda\.so$/);
  // shared.so is not there: missing, and the hint says how to get it.
  const shared = check(report, 'cuda', /^libonnxruntime_providers_shared\.so/);
  assert.equal(shared.ok, false);
  assert.match(shared.detail, /agentchord gpu install/);
  // The CUDA libraries are the provider's own DT_NEEDED list: system ones are left out.
  const cudart = check(report, 'cuda', /^libcudart\.so\.12/);
  assert.deepEqual([cudart.ok, cudart.detail], [true, '/opt/cuda/lib/libcudart.so.12']);
  assert.equal(cudart.what, 'libcudart.so.12 (CUDA runtime)');
  assert.match(report.providers[0].notes.join('\n'), /^CUDA and cuDNN libraries: read from .*libonnxruntime_providers_cuda\.so$/m);
  const cudnn = check(report, 'cuda', /^libcudnn\.so\.9/);
  assert.equal(cudnn.ok, false);
  assert.match(cudnn.what, /cuDNN/);
  const cuda = report.providers.find((p) => p.provider === 'cuda')!;
  assert.ok(!cuda.checks.some((c) => /libstdc|libc\.so|providers_shared\.so \(CUDA/.test(c.what)), cuda.checks.map((c) => c.what).join('\n'));
  assert.ok(!cuda.checks.some((c) => /libcublas/.test(c.what)), 'only what the binary needs');
  assert.deepEqual([cuda.usable, cuda.verdict], [false, 'libcudnn.so.9: cannot open shared object file']);

  assert.equal(check(report, 'webgpu', /^libvulkan\.so\.1/).ok, true);
  assert.equal(check(report, 'webgpu', /^Vulkan driver/).detail, '/usr/share/vulkan/icd.d/nvidia_icd.json');
  assert.deepEqual(report.providers.map((p) => [p.provider, p.usable]), [['cuda', false], ['webgpu', true], ['cpu', true]]);

  const text = formatGpuStatus(report);
  assert.match(text, /^cuda: not usable: libcudnn\.so\.9: cannot open shared object file$/m);
  assert.match(text, /^ {2}ok {7}NVIDIA driver: 550\.54\.15/m);
  assert.match(text, /^ {2}missing {2}libcudnn\.so\.9 \(cuDNN\): not in LD_LIBRARY_PATH or the ldconfig cache: install cuDNN 9 for CUDA 12/m);
  assert.match(text, /^webgpu: usable$/m);
  assert.match(text, /installed from http:\/\/mirror\/x\.nupkg \(SHA-512 checked\)/);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'the --json form is the report itself');
});

test('a machine with nothing: no driver, provider not installed, the expected CUDA 12 libraries listed as missing', { skip: !HAS_CUDA_MANIFEST }, async () => {
  const root = join(work, 'bare');
  mkdirSync(root, { recursive: true });
  const ort = fakeOrt(join(work, 'ort-2'));
  let probed = 0;
  const report = await gpuStatus(host(root, { probe: async () => (probed++, 'x') }), { ortDir: ort.dir, cacheDir: join(work, 'cache-2'), probe: false });
  assert.equal(probed, 0, '--no-probe creates no session');
  assert.equal(report.cache[0].installed, false);
  const driver = check(report, 'cuda', /^NVIDIA driver/);
  assert.equal(driver.ok, false);
  assert.match(driver.detail, /no \/proc\/driver\/nvidia\/version and no nvidia-smi/);
  const cublas = check(report, 'cuda', /^libcublasLt\.so\.12/);
  assert.equal(cublas.ok, false);
  assert.match(report.providers[0].notes.join('\n'), /the list expected for cuda12/);
  assert.equal(check(report, 'cuda', /^libonnxruntime_providers_cuda\.so/).detail, 'not installed: run `agentchord gpu install`');
  assert.equal(check(report, 'webgpu', /^Vulkan driver/).ok, false);
  assert.ok(report.providers.every((p) => p.verdict === 'not probed (--no-probe)'));
  assert.match(formatGpuStatus(report), /GPU runtime cache \(cuda12\): .*: not installed \(`agentchord gpu install`\)/);
});

test('the driver seen through nvidia-smi when /proc has no NVIDIA entry (containers)', { skip: !HAS_CUDA_MANIFEST }, async () => {
  const root = join(work, 'container');
  mkdirSync(root, { recursive: true });
  const ort = fakeOrt(join(work, 'ort-3'));
  const report = await gpuStatus(host(root, { nvidiaSmi: () => 'NVIDIA H100 80GB HBM3, 550.54.15\n' }), { ortDir: ort.dir, cacheDir: join(work, 'cache-3'), probe: false });
  assert.deepEqual(check(report, 'cuda', /^NVIDIA driver/), { what: 'NVIDIA driver', ok: true, detail: 'NVIDIA H100 80GB HBM3, 550.54.15 (nvidia-smi)' });
});

test('onnxruntime-node missing: the report says so and still covers every provider', async () => {
  const report = await gpuStatus(host(join(work, 'none')), { ortDir: join(work, 'no-such-ort'), probe: false });
  assert.match(report.problems[0], /no-such-ort\/package\.json: cannot read onnxruntime-node's package\.json/);
  assert.deepEqual(report.providers.map((p) => p.provider), ['cuda', 'webgpu', 'cpu']);
});
