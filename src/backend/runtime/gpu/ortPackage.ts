/**
 * The installed onnxruntime-node package: its version, the folder of its native binaries for this platform, and the
 * install metadata its own installer (script/install.js) reads: which NuGet package holds the files that are not
 * bundled in the npm package (the CUDA execution provider) and where each file sits inside it. The metadata is
 * required from the installed package at run time, not copied, so an onnxruntime-node upgrade needs no code change.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A problem with the onnxruntime-node installation or its metadata; the message names the file or field. */
export class OrtPackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrtPackageError';
  }
}

export interface OrtPackage {
  version: string;
  /** The package folder (…/node_modules/onnxruntime-node). */
  dir: string;
  /** "linux/x64": the key of the install metadata. */
  platform: string;
  /**
   * The folder of onnxruntime_binding.node and libonnxruntime.so. ORT loads execution-provider libraries from the
   * folder of libonnxruntime itself (its runtime path), not from LD_LIBRARY_PATH: the provider files must be here.
   */
  bindingDir: string;
}

/** One file the install metadata adds to the binary folder, e.g. libonnxruntime_providers_cuda.so. */
export interface ManifestFile {
  /** File name in the binary folder. */
  file: string;
  /** Path inside the package archive (runtimes/linux-x64/native/…). */
  pathInPackage: string;
  /** The metadata's package key, e.g. "nuget:linux/x64:cuda12". */
  packageKey: string;
}

export interface PackageSource {
  /** NuGet package id, e.g. Microsoft.ML.OnnxRuntime.Gpu.Linux. */
  name: string;
  /** Candidates in order: the first one the feed has is used (as the ORT installer does). */
  versions: { feed: string; version: string }[];
}

export interface InstallMetadata {
  /** Manifest names for this platform, e.g. ["cuda12"]; empty where everything is bundled. */
  manifestNames: string[];
  manifests: Record<string, ManifestFile[]>;
  packages: Record<string, PackageSource>;
  /** Feed name → NuGet v3 service index URL. */
  feeds: Record<string, { type: string; index: string }>;
}

/** Finds onnxruntime-node: `dir` when given (tests, other installs), else the one this process resolves. */
export function locateOrt(dir?: string, platform = `${process.platform}/${process.arch}`): OrtPackage {
  let packageDir = dir;
  if (!packageDir) {
    try {
      packageDir = dirname(require.resolve('onnxruntime-node/package.json'));
    } catch {
      throw new OrtPackageError('onnxruntime-node is not installed next to AgentChord (npm ci installs it)');
    }
  }
  const manifestFile = join(packageDir, 'package.json');
  let pkg: { version?: unknown; binary?: { napi_versions?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (err) {
    throw new OrtPackageError(`${manifestFile}: cannot read onnxruntime-node's package.json: ${(err as Error).message}`);
  }
  if (typeof pkg.version !== 'string') throw new OrtPackageError(`${manifestFile}: no "version"`);
  // bin/napi-v<N>/<platform>/<arch>, as dist/binding.js and script/install.js spell it.
  const napi = Array.isArray(pkg.binary?.napi_versions) && typeof pkg.binary.napi_versions[0] === 'number' ? pkg.binary.napi_versions[0] : 6;
  const bindingDir = join(packageDir, 'bin', `napi-v${napi}`, platform);
  if (!existsSync(join(bindingDir, 'onnxruntime_binding.node'))) {
    throw new OrtPackageError(`onnxruntime-node ${pkg.version} has no binary for ${platform} (looked for ${join(bindingDir, 'onnxruntime_binding.node')})`);
  }
  return { version: pkg.version, dir: packageDir, platform, bindingDir };
}

/** Reads script/install-metadata.js of the installed package and picks this platform's part; checks its shape. */
export function loadInstallMetadata(ort: OrtPackage): InstallMetadata {
  const file = join(ort.dir, 'script', 'install-metadata.js');
  if (!existsSync(file)) throw new OrtPackageError(`onnxruntime-node ${ort.version} ships no install metadata (${file}): this version cannot be handled automatically`);
  let raw: Record<string, unknown>;
  try {
    raw = createRequire(file)(file) as Record<string, unknown>;
  } catch (err) {
    throw new OrtPackageError(`${file}: cannot load: ${(err as Error).message}`);
  }
  const bad = (field: string): never => {
    throw new OrtPackageError(`${file}: unexpected shape at '${field}' (onnxruntime-node ${ort.version}); AgentChord needs an update for it`);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(field));
  const requirements = obj(raw.requirements, 'requirements');
  const names = requirements[ort.platform] ?? [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) bad(`requirements['${ort.platform}']`);
  const manifestsRaw = obj(raw.manifests, 'manifests');
  const packagesRaw = obj(raw.packages, 'packages');
  const feedsRaw = obj(raw.feeds, 'feeds');
  const manifests: Record<string, ManifestFile[]> = {};
  const packages: Record<string, PackageSource> = {};
  for (const name of names as string[]) {
    const key = `${ort.platform}:${name}`;
    const entries = obj(manifestsRaw[key], `manifests['${key}']`);
    manifests[name] = Object.entries(entries).map(([file, value]) => {
      const v = obj(value, `manifests['${key}']['${file}']`);
      if (typeof v.package !== 'string' || typeof v.path !== 'string') bad(`manifests['${key}']['${file}']`);
      const base = file.replace(/^\.\//, '');
      if (!base || base.includes('/') || base.includes('\\') || base.startsWith('.')) bad(`manifests['${key}']['${file}'] (not a plain file name)`);
      const packageKey = v.package as string;
      if (!packages[packageKey]) {
        const p = obj(packagesRaw[packageKey], `packages['${packageKey}']`);
        if (typeof p.name !== 'string' || !Array.isArray(p.versions)) bad(`packages['${packageKey}']`);
        const versions = (p.versions as unknown[]).map((c, i) => {
          const cv = obj(c, `packages['${packageKey}'].versions[${i}]`);
          if (typeof cv.feed !== 'string' || typeof cv.version !== 'string') bad(`packages['${packageKey}'].versions[${i}]`);
          return { feed: cv.feed as string, version: cv.version as string };
        });
        packages[packageKey] = { name: p.name as string, versions };
      }
      return { file: base, pathInPackage: v.path as string, packageKey };
    });
  }
  const feeds: InstallMetadata['feeds'] = {};
  for (const [name, value] of Object.entries(feedsRaw)) {
    const f = obj(value, `feeds['${name}']`);
    if (typeof f.type !== 'string' || typeof f.index !== 'string') bad(`feeds['${name}']`);
    feeds[name] = { type: f.type as string, index: f.index as string };
  }
  return { manifestNames: names as string[], manifests, packages, feeds };
}

/**
 * What the provider libraries in the binary folder are right now (name → target and mtime), so a remembered failed
 * CUDA probe is forgotten once `agentchord gpu install` links them. Empty when onnxruntime-node is not found.
 */
export function providerLibraryStamp(): string {
  try {
    const { bindingDir } = locateOrt();
    return readdirSync(bindingDir)
      .filter((n) => n.startsWith('libonnxruntime_providers_'))
      .sort()
      .map((n) => {
        const p = join(bindingDir, n);
        try {
          return `${n}=${realpathSync(p)}@${lstatSync(p).mtimeMs}`;
        } catch {
          return `${n}=dangling`;
        }
      })
      .join(',');
  } catch {
    return '';
  }
}
