/**
 * Resolving a package on a NuGet v3 feed, as onnxruntime-node's installer does (script/install-utils.js): the service
 * index → its PackageBaseAddress/3.0.0 resource → {base}{id}/index.json must list the version → the .nupkg URL
 * {base}{id}/{version}/{id}.{version}.nupkg (ids and versions lower-cased).
 *
 * That installer verifies nothing beyond HTTPS and this resolution. We also check the package's SHA-512: the feed's
 * RegistrationsBaseUrl leaf for the version points to its catalog entry, which carries `packageHash` (base64) and
 * `packageHashAlgorithm` (nuget.org: SHA512). Hand-written on fetch: these are four GET requests, and no NuGet client
 * library for Node is kept up.
 */

/** The feed answered in a way that stops the install; the message names the URL, package and version. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FeedError';
  }
}

export interface ResolvedPackage {
  name: string;
  version: string;
  /** The service index it was found through. */
  feed: string;
  url: string;
  /** Expected SHA-512 of the .nupkg, base64, from the catalog entry; undefined when the feed publishes none. */
  sha512?: string;
  /** Where the hash came from (the catalog entry's URL), or why there is none. */
  hashSource: string;
}

type Json = Record<string, unknown>;

async function getJson(url: string, signal: AbortSignal | undefined): Promise<{ status: number; body?: Json }> {
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    throw new FeedError(`cannot reach ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status };
  }
  const text = await res.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not a JSON object');
    return { status: 200, body: body as Json };
  } catch (err) {
    throw new FeedError(`${url}: not a JSON object (${(err as Error).message})`);
  }
}

function resource(index: Json, types: string[]): string | undefined {
  const list = Array.isArray(index.resources) ? (index.resources as Json[]) : [];
  for (const type of types) {
    const id = list.find((r) => r && r['@type'] === type)?.['@id'];
    if (typeof id === 'string') return id.endsWith('/') ? id : `${id}/`;
  }
  return undefined;
}

/**
 * The package's URL and expected hash on the feed with service index `indexUrl`; undefined when the feed does not
 * have this version (404 on the package, or the version not listed). Other failures throw FeedError.
 */
export async function resolveNugetPackage(indexUrl: string, name: string, version: string, signal?: AbortSignal): Promise<ResolvedPackage | undefined> {
  const index = await getJson(indexUrl, signal);
  if (!index.body) throw new FeedError(`NuGet feed ${indexUrl}: HTTP ${index.status} for the service index`, index.status);
  const base = resource(index.body, ['PackageBaseAddress/3.0.0']);
  if (!base) throw new FeedError(`NuGet feed ${indexUrl}: its service index has no PackageBaseAddress/3.0.0 resource`);
  const id = name.toLowerCase();
  const ver = version.toLowerCase();
  const versions = await getJson(`${base}${id}/index.json`, signal);
  if (!versions.body) {
    if (versions.status === 404) return undefined;
    throw new FeedError(`NuGet feed ${indexUrl}: HTTP ${versions.status} for ${base}${id}/index.json`, versions.status);
  }
  if (!Array.isArray(versions.body.versions) || !versions.body.versions.some((v) => typeof v === 'string' && v.toLowerCase() === ver)) return undefined;
  const url = `${base}${id}/${ver}/${id}.${ver}.nupkg`;
  const { sha512, hashSource } = await packageHash(index.body, indexUrl, id, ver, signal);
  return { name, version, feed: indexUrl, url, sha512, hashSource };
}

async function packageHash(index: Json, indexUrl: string, id: string, ver: string, signal: AbortSignal | undefined): Promise<{ sha512?: string; hashSource: string }> {
  const registrations = resource(index, ['RegistrationsBaseUrl/3.6.0', 'RegistrationsBaseUrl/3.4.0', 'RegistrationsBaseUrl/3.0.0-rc', 'RegistrationsBaseUrl']);
  if (!registrations) return { hashSource: `the feed ${indexUrl} has no RegistrationsBaseUrl resource` };
  const leafUrl = `${registrations}${id}/${ver}.json`;
  const leaf = await getJson(leafUrl, signal);
  if (!leaf.body) return { hashSource: `HTTP ${leaf.status} for the registration leaf ${leafUrl}` };
  // nuget.org: catalogEntry is the catalog leaf's URL; other feeds may inline the entry.
  let entry: Json | undefined;
  let entryUrl = leafUrl;
  const catalogEntry = leaf.body.catalogEntry;
  if (catalogEntry && typeof catalogEntry === 'object' && typeof (catalogEntry as Json).packageHash === 'string') {
    entry = catalogEntry as Json;
  } else {
    const ref = typeof catalogEntry === 'string' ? catalogEntry : catalogEntry && typeof catalogEntry === 'object' ? (catalogEntry as Json)['@id'] : undefined;
    if (typeof ref !== 'string') return { hashSource: `the registration leaf ${leafUrl} names no catalog entry` };
    entryUrl = ref;
    const got = await getJson(ref, signal);
    if (!got.body) return { hashSource: `HTTP ${got.status} for the catalog entry ${ref}` };
    entry = got.body;
  }
  if (typeof entry.packageHash !== 'string') return { hashSource: `the catalog entry ${entryUrl} has no packageHash` };
  const algorithm = typeof entry.packageHashAlgorithm === 'string' ? entry.packageHashAlgorithm : 'SHA512';
  if (algorithm.toUpperCase() !== 'SHA512') throw new FeedError(`${entryUrl}: packageHashAlgorithm '${algorithm}' is not supported (expected SHA512)`);
  return { sha512: entry.packageHash, hashSource: entryUrl };
}
