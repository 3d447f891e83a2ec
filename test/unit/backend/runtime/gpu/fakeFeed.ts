/**
 * A fake onnxruntime-node package (the installed one's package.json version and install metadata, copied) and a fake
 * NuGet v3 feed on 127.0.0.1 serving a .nupkg built here with fake .so files at the paths that metadata names.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { loadInstallMetadata, locateOrt, type OrtPackage } from '../../../../../src/backend/runtime/gpu/ortPackage';

export const PLATFORM = `${process.platform}/${process.arch}`;
/** The real metadata only names files for linux/x64; elsewhere the install tests are skipped. */
export const HAS_CUDA_MANIFEST = PLATFORM === 'linux/x64';

/** A copy of the installed onnxruntime-node's package.json and script/install-metadata*.js, with an empty binding. */
export function fakeOrt(dir: string): OrtPackage {
  const real = locateOrt();
  mkdirSync(join(dir, 'script'), { recursive: true });
  cpSync(join(real.dir, 'package.json'), join(dir, 'package.json'));
  for (const name of readdirSync(join(real.dir, 'script')).filter((n) => n.startsWith('install-metadata'))) {
    cpSync(join(real.dir, 'script', name), join(dir, 'script', name));
  }
  const ort = { ...real, dir, bindingDir: join(dir, relative(real.dir, real.bindingDir)) };
  mkdirSync(ort.bindingDir, { recursive: true });
  writeFileSync(join(ort.bindingDir, 'onnxruntime_binding.node'), '');
  return locateOrt(dir);
}

/** The package the metadata names for this platform, and a .nupkg holding a fake file (its name as content) per entry. */
export function fakePackage(ort: OrtPackage, omit: string[] = []): { name: string; version: string; nupkg: Uint8Array; files: Record<string, string> } {
  const metadata = loadInstallMetadata(ort);
  const entries = metadata.manifests[metadata.manifestNames[0]];
  const source = metadata.packages[entries[0].packageKey];
  const zip: Record<string, Uint8Array> = { '[Content_Types].xml': new TextEncoder().encode('<Types/>') };
  const files: Record<string, string> = {};
  for (const e of entries) {
    files[e.file] = `fake ${e.file} for ${ort.version}\n`.repeat(50);
    if (!omit.includes(e.file)) zip[e.pathInPackage] = new TextEncoder().encode(files[e.file]);
  }
  return { name: source.name, version: source.versions[0].version, nupkg: zipSync(zip), files };
}

export interface FeedOptions {
  name: string;
  version: string;
  /** Bytes served as the .nupkg. */
  nupkg: Uint8Array;
  /** packageHash in the catalog entry (default: the SHA-512 of nupkg); null: no hash published. */
  packageHash?: string | null;
  /** The package is not on the feed (404 on its version index). */
  missing?: boolean;
  /** Send this many bytes of the package, then hang (for cancel). */
  stallAfter?: number;
}

export interface Feed {
  index: string;
  requests: string[];
  close(): Promise<void>;
}

export function sha512Base64(data: Uint8Array): string {
  return createHash('sha512').update(data).digest('base64');
}

export async function startFeed(options: FeedOptions): Promise<Feed> {
  const requests: string[] = [];
  const id = options.name.toLowerCase();
  const ver = options.version.toLowerCase();
  const hanging: ServerResponse[] = [];
  let base = '';
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    if (path === '/v3/index.json') {
      return json(res, {
        version: '3.0.0',
        resources: [
          { '@id': `${base}/flat/`, '@type': 'PackageBaseAddress/3.0.0' },
          { '@id': `${base}/reg`, '@type': 'RegistrationsBaseUrl/3.6.0' },
        ],
      });
    }
    if (!options.missing && path === `/flat/${id}/index.json`) return json(res, { versions: ['0.0.1', ver] });
    if (!options.missing && path === `/flat/${id}/${ver}/${id}.${ver}.nupkg`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': options.nupkg.length });
      if (options.stallAfter !== undefined) {
        res.write(options.nupkg.subarray(0, options.stallAfter));
        hanging.push(res);
        return;
      }
      return res.end(options.nupkg);
    }
    if (!options.missing && path === `/reg/${id}/${ver}.json`) return json(res, { '@id': `${base}${path}`, catalogEntry: `${base}/catalog/${id}.${ver}.json` });
    if (!options.missing && path === `/catalog/${id}.${ver}.json`) {
      const hash = options.packageHash === undefined ? sha512Base64(options.nupkg) : options.packageHash;
      return json(res, hash === null ? { id: options.name, version: options.version } : { id: options.name, version: options.version, packageHash: hash, packageHashAlgorithm: 'SHA512' });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    index: `${base}/v3/index.json`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every file (not folder) under dir, relative; [] when dir does not exist. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
