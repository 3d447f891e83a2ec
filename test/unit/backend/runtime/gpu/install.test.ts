// `agentchord gpu install` against a fake NuGet feed on 127.0.0.1: files land in the cache and are linked where ORT
// looks; a corrupted package, a missing package and a cancel leave nothing behind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPU_FEED_ENV, GpuInstallCancelled, GpuInstallError, gpuInstallDir, installGpuRuntime } from '../../../../../src/backend/runtime/gpu/install';
import { loadInstallMetadata, locateOrt } from '../../../../../src/backend/runtime/gpu/ortPackage';
import { fakeOrt, fakePackage, filesUnder, HAS_CUDA_MANIFEST, sha512Base64, startFeed, type Feed, type FeedOptions } from './fakeFeed';

const work = mkdtempSync(join(tmpdir(), 'agentchord-gpu-install-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

function setup(feedOptions: (pkg: ReturnType<typeof fakePackage>) => Partial<FeedOptions> = () => ({}), omit: string[] = []) {
  const root = join(work, String(n++));
  const ort = fakeOrt(join(root, 'onnxruntime-node'));
  const pkg = fakePackage(ort, omit);
  const cacheDir = join(root, 'cache');
  return { ort, pkg, cacheDir, feed: startFeed({ name: pkg.name, version: pkg.version, nupkg: pkg.nupkg, ...feedOptions(pkg) }) };
}

/** The provider files in the binary folder (links or not). */
function providerFiles(bindingDir: string): string[] {
  return readdirSync(bindingDir).filter((f) => f !== 'onnxruntime_binding.node').sort();
}

test('the installed onnxruntime-node ships the metadata its installer reads: the CUDA provider in a NuGet package', { skip: !HAS_CUDA_MANIFEST }, () => {
  const ort = locateOrt();
  const metadata = loadInstallMetadata(ort);
  assert.ok(metadata.manifestNames.some((m) => /^cuda/.test(m)), metadata.manifestNames.join());
  const files = metadata.manifests[metadata.manifestNames[0]];
  assert.ok(files.some((f) => f.file === 'libonnxruntime_providers_cuda.so' && f.pathInPackage.endsWith('/libonnxruntime_providers_cuda.so')));
  assert.ok(files.some((f) => f.file === 'libonnxruntime_providers_shared.so'));
  const source = metadata.packages[files[0].packageKey];
  assert.equal(source.name, 'Microsoft.ML.OnnxRuntime.Gpu.Linux');
  assert.ok(source.versions.some((v) => v.version === ort.version), 'a package of the installed version');
});

describe('gpu install', { skip: !HAS_CUDA_MANIFEST }, () => {
  const feeds: Feed[] = [];
  after(async () => {
    for (const f of feeds) await f.close();
  });

  test('downloads, checks the SHA-512, unpacks into the cache and links each file where ORT loads providers', async () => {
    const { ort, pkg, cacheDir, feed: started } = setup();
    const feed = await started;
    feeds.push(feed);
    const phases = new Set<string>();
    const result = await installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index, onProgress: (p) => phases.add(p.phase) });
    const [m] = result.manifests;
    assert.equal(m.dir, gpuInstallDir(ort, 'cuda12', cacheDir));
    assert.match(m.dir, new RegExp(`gpu/onnxruntime-${ort.version.replaceAll('.', '\\.')}/linux-x64-cuda12$`));
    assert.equal(m.downloaded, true);
    assert.deepEqual([...phases], ['resolve', 'download', 'verify', 'extract', 'link']);
    for (const [file, content] of Object.entries(pkg.files)) {
      assert.equal(readFileSync(join(m.dir, file), 'utf8'), content);
      const link = join(ort.bindingDir, file);
      assert.ok(lstatSync(link).isSymbolicLink(), `${file} is a link`);
      assert.equal(readlinkSync(link), join(m.dir, file));
    }
    assert.deepEqual(m.linked.sort(), Object.keys(pkg.files).sort());
    assert.equal(m.record.sha512, sha512Base64(pkg.nupkg));
    assert.equal(m.record.url, `${feed.index.replace('/v3/index.json', '')}/flat/${pkg.name.toLowerCase()}/${pkg.version}/${pkg.name.toLowerCase()}.${pkg.version}.nupkg`);
    // Only the unpacked files and the record: no .partial, no temporary folder.
    assert.deepEqual(filesUnder(cacheDir), [...Object.keys(pkg.files).map((f) => join('gpu', `onnxruntime-${ort.version}`, 'linux-x64-cuda12', f)), join('gpu', `onnxruntime-${ort.version}`, 'linux-x64-cuda12', 'install.json')].sort());

    // Again (e.g. after npm ci removed the links): no download, the links come back from the cache.
    for (const f of Object.keys(pkg.files)) rmSync(join(ort.bindingDir, f));
    const downloadsBefore = feed.requests.filter((r) => r.endsWith('.nupkg')).length;
    const again = await installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index });
    assert.equal(again.manifests[0].downloaded, false);
    assert.equal(feed.requests.filter((r) => r.endsWith('.nupkg')).length, downloadsBefore);
    assert.deepEqual(providerFiles(ort.bindingDir), Object.keys(pkg.files).sort());
  });

  test(`${GPU_FEED_ENV} names the mirror when no feed is passed`, async () => {
    const { ort, cacheDir, feed: started } = setup();
    const feed = await started;
    feeds.push(feed);
    const saved = process.env[GPU_FEED_ENV];
    process.env[GPU_FEED_ENV] = feed.index;
    try {
      await installGpuRuntime({ ortDir: ort.dir, cacheDir });
    } finally {
      if (saved === undefined) delete process.env[GPU_FEED_ENV];
      else process.env[GPU_FEED_ENV] = saved;
    }
    assert.ok(feed.requests.includes('/v3/index.json'));
    assert.ok(existsSync(join(ort.bindingDir, 'libonnxruntime_providers_cuda.so')));
  });

  test('a corrupted package fails verification and leaves nothing in the cache or next to ORT', async () => {
    const { ort, cacheDir, feed: started } = setup((pkg) => {
      const corrupted = Uint8Array.from(pkg.nupkg);
      corrupted[corrupted.length >> 1] ^= 0xff;
      return { nupkg: corrupted, packageHash: sha512Base64(pkg.nupkg) };
    });
    const feed = await started;
    feeds.push(feed);
    await assert.rejects(installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index }), (err: Error) => {
      assert.ok(err instanceof GpuInstallError, String(err));
      assert.match(err.message, /^Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux \S+: SHA-512 of http:\/\/127\.0\.0\.1:\d+\/\S+\.nupkg does not match the feed's packageHash .*nothing installed$/);
      return true;
    });
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, 'gpu')), 'no empty folders either');
    assert.deepEqual(providerFiles(ort.bindingDir), []);
  });

  test('a package missing from the feed is a clear error naming the package and version', async () => {
    const { ort, pkg, cacheDir, feed: started } = setup(() => ({ missing: true }));
    const feed = await started;
    feeds.push(feed);
    await assert.rejects(installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index }), (err: Error) => {
      assert.ok(err instanceof GpuInstallError, String(err));
      assert.ok(err.message.includes(`package ${pkg.name} not found: no version ${pkg.version} on ${feed.index} (HTTP 404`), err.message);
      return true;
    });
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, 'gpu')), 'no empty folders either');
  });

  test('cancelling during the download leaves nothing', async () => {
    const { ort, pkg, cacheDir, feed: started } = setup((p) => ({ stallAfter: Math.floor(p.nupkg.length / 2) }));
    const feed = await started;
    feeds.push(feed);
    const controller = new AbortController();
    let sawPartial = false;
    await assert.rejects(
      installGpuRuntime({
        ortDir: ort.dir,
        cacheDir,
        feed: feed.index,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'download' && (p.receivedBytes ?? 0) > 0 && !controller.signal.aborted) {
            sawPartial = filesUnder(cacheDir).some((f) => f.endsWith('.partial'));
            controller.abort();
          }
        },
      }),
      GpuInstallCancelled,
    );
    assert.ok(sawPartial, 'the download was under way in a .partial file');
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, 'gpu')), 'no empty folders either');
    assert.deepEqual(providerFiles(ort.bindingDir), []);
    assert.ok(pkg.nupkg.length > 0);
  });

  test('no packageHash on the feed: refused unless --allow-unverified, which warns', async () => {
    const { ort, cacheDir, feed: started } = setup(() => ({ packageHash: null }));
    const feed = await started;
    feeds.push(feed);
    await assert.rejects(installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index }), /publishes no SHA-512 .*has no packageHash.*--allow-unverified/);
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, 'gpu')), 'no empty folders either');
    const warnings: string[] = [];
    const result = await installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index, allowUnverified: true, warn: (w) => warnings.push(w) });
    assert.equal(result.manifests[0].record.sha512, null);
    assert.match(warnings.join('\n'), /not verified/);
  });

  test('a package without a file the metadata names fails naming that path, leaving nothing', async () => {
    const { ort, cacheDir, feed: started } = setup(() => ({}), ['libonnxruntime_providers_cuda.so']);
    const feed = await started;
    feeds.push(feed);
    await assert.rejects(installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index }), /runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so is not in the package/);
    assert.deepEqual(filesUnder(cacheDir), []);
    assert.ok(!existsSync(join(cacheDir, 'gpu')), 'no empty folders either');
  });

  test('a regular provider file from onnxruntime-node\'s own installer is kept, not replaced by a link', async () => {
    const { ort, cacheDir, feed: started } = setup();
    const feed = await started;
    feeds.push(feed);
    const own = join(ort.bindingDir, 'libonnxruntime_providers_cuda.so');
    writeFileSync(own, 'official');
    const result = await installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: feed.index });
    assert.deepEqual(result.manifests[0].kept, ['libonnxruntime_providers_cuda.so']);
    assert.equal(readFileSync(own, 'utf8'), 'official');
  });

  test('a feed URL that is not a URL is refused naming the option', async () => {
    const { ort, cacheDir, feed } = setup();
    feeds.push(await feed);
    await assert.rejects(installGpuRuntime({ ortDir: ort.dir, cacheDir, feed: 'not a url' }), /AGENTCHORD_GPU_FEED \/ --feed: not a URL: 'not a url'/);
  });
});
