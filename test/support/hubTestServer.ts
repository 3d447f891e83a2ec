/**
 * A local stand-in for the Hugging Face hub, on 127.0.0.1, for tests of anything that downloads models. Two servers:
 * the hub itself and a "CDN" on another port (another origin, as the hub's LFS storage is), so a test can check that
 * the access token never reaches the CDN.
 *
 * Hub routes (the real hub's URL scheme and answers, as far as a client sees them):
 *   GET /api/models/{org}/{name}/revision/{rev}        {id, sha, siblings: [{rfilename}]}
 *   GET /api/models/{org}/{name}/tree/{rev}?recursive=1 [{type, path, size, oid, lfs?: {oid, size, pointerSize}}]
 *   GET /{org}/{name}/resolve/{rev}/{file}             plain files: 200 with ETag (git blob sha1) and Range support;
 *                                                       LFS files: 302 to the CDN with X-Linked-Etag (sha256) and
 *                                                       X-Linked-Size, as the hub does
 * Missing repos and revisions answer 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound; a gated
 * repo answers 401 (X-Error-Code GatedRepo) without the right token and 403 with another one.
 * Faults a test can switch on per file: cut the connection after N bytes for the first M requests, serve corrupted
 * bytes from the CDN (the hub's metadata stays right, so the client's sha256 check must catch it).
 *
 *   const hub = await HubTestServer.start();
 *   hub.addRepo('org/model', filesOfFolder('models/chord-retrieval'));
 *   ... HF_ENDPOINT=hub.url ...
 *   await hub.close();
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export interface HubRepoOptions {
  /** Default ['main']. Every revision serves the same files. */
  revisions?: string[];
  /** Needs `Authorization: Bearer <hub.token>`. */
  gated?: boolean;
  /** Which files are LFS (served through the CDN). Default: *.safetensors, *.bin, *.gguf. */
  isLfs?: (path: string) => boolean;
}

interface HubRepo extends Required<HubRepoOptions> {
  files: Map<string, Buffer>;
  sha: string;
}

export interface HubRequest {
  server: 'hub' | 'cdn';
  path: string;
  range?: string;
  authorization?: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const gitSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
const defaultLfs = (path: string) => /\.(safetensors|bin|gguf|onnx)$/.test(path);

/** Every file below `dir`, by its path relative to it ('/' separators). */
export function filesOfFolder(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path).split('\\').join('/')] = readFileSync(path);
    }
  };
  walk(dir);
  return out;
}

export class HubTestServer {
  /** The token a gated repo accepts. */
  readonly token = 'hf_test_secret_token_123';
  readonly repos = new Map<string, HubRepo>();
  readonly requests: HubRequest[] = [];
  /** "org/name/file" -> cut the connection after `bytes` body bytes on the next `times` requests for it. */
  readonly cuts = new Map<string, { bytes: number; times: number }>();
  /** "org/name/file" served with one byte changed (by the CDN, or the hub for plain files). */
  readonly corrupt = new Set<string>();

  private readonly hub = createServer((req, res) => this.handleHub(req, res));
  private readonly cdn = createServer((req, res) => this.handleCdn(req, res));
  url = '';
  cdnUrl = '';

  private constructor() {}

  static async start(): Promise<HubTestServer> {
    const listen = async (server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const self = new HubTestServer();
    self.url = await listen(self.hub);
    self.cdnUrl = await listen(self.cdn);
    return self;
  }

  addRepo(repo: string, files: Record<string, Buffer | string>, options: HubRepoOptions = {}): void {
    const map = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));
    this.repos.set(repo, {
      files: map,
      revisions: options.revisions ?? ['main'],
      gated: options.gated ?? false,
      isLfs: options.isLfs ?? defaultLfs,
      sha: createHash('sha1').update(repo).digest('hex'),
    });
  }

  /** Requests for files (resolve and CDN), as "server path". */
  fileRequests(): HubRequest[] {
    return this.requests.filter((r) => r.server === 'cdn' || r.path.includes('/resolve/'));
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage): string {
    const path = new URL(req.url!, 'http://x').pathname;
    this.requests.push({ server, path: decodeURIComponent(path), range: req.headers.range, authorization: req.headers.authorization });
    return path;
  }

  private fail(res: ServerResponse, status: number, code: string, message: string) {
    res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message }).end(JSON.stringify({ error: message }));
  }

  /** Looks the repo and revision up, answering the error itself; undefined when it did. */
  private repoFor(req: IncomingMessage, res: ServerResponse, repo: string, revision: string): HubRepo | undefined {
    const entry = this.repos.get(repo);
    if (!entry) {
      // The real hub answers 401 for a missing repo without a token (it will not say whether a private one exists).
      if (!req.headers.authorization) this.fail(res, 401, 'RepoNotFound', 'Repository Not Found');
      else this.fail(res, 404, 'RepoNotFound', 'Repository Not Found');
      return undefined;
    }
    if (entry.gated) {
      const auth = req.headers.authorization;
      if (!auth) {
        this.fail(res, 401, 'GatedRepo', `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
        return undefined;
      }
      if (auth !== `Bearer ${this.token}`) {
        this.fail(res, 403, 'GatedRepo', `Access to model ${repo} is restricted and you are not in the authorized list.`);
        return undefined;
      }
    }
    if (!entry.revisions.includes(revision)) {
      this.fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      return undefined;
    }
    return entry;
  }

  private handleHub(req: IncomingMessage, res: ServerResponse) {
    const raw = this.record('hub', req);
    const parts = raw.split('/').slice(1);
    if (parts[0] === 'api' && parts[1] === 'models' && (parts[4] === 'revision' || parts[4] === 'tree')) {
      const repoId = `${decodeURIComponent(parts[2])}/${decodeURIComponent(parts[3])}`;
      const revision = decodeURIComponent(parts[5] ?? '');
      const repo = this.repoFor(req, res, repoId, revision);
      if (!repo) return;
      const names = [...repo.files.keys()].sort();
      if (parts[4] === 'revision') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: repoId, sha: repo.sha, siblings: names.map((rfilename) => ({ rfilename })) }));
        return;
      }
      const dirs = new Set(names.flatMap((n) => n.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))));
      const tree = [
        ...[...dirs].map((path) => ({ type: 'directory', oid: '0'.repeat(40), size: 0, path })),
        ...names.map((path) => {
          const data = repo.files.get(path)!;
          return repo.isLfs(path)
            ? { type: 'file', oid: gitSha1(Buffer.from('pointer ' + path)), size: data.length, path, lfs: { oid: sha256(data), size: data.length, pointerSize: 134 } }
            : { type: 'file', oid: gitSha1(data), size: data.length, path };
        }),
      ];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tree));
      return;
    }
    const resolveAt = parts.indexOf('resolve');
    if (resolveAt === 2) {
      const repoId = `${decodeURIComponent(parts[0])}/${decodeURIComponent(parts[1])}`;
      const revision = decodeURIComponent(parts[3] ?? '');
      const file = parts.slice(4).map(decodeURIComponent).join('/');
      const repo = this.repoFor(req, res, repoId, revision);
      if (!repo) return;
      const data = repo.files.get(file);
      if (!data) return this.fail(res, 404, 'EntryNotFound', `${file} does not exist on "${revision}"`);
      if (repo.isLfs(file)) {
        const hex = sha256(data);
        res.writeHead(302, { location: `${this.cdnUrl}/${repoId}/${file}?sig=abc`, 'x-linked-etag': `"${hex}"`, 'x-linked-size': String(data.length), etag: `"${hex}"` }).end();
        return;
      }
      this.send(req, res, `${repoId}/${file}`, data, { etag: `"${gitSha1(data)}"` });
      return;
    }
    this.fail(res, 404, 'NotFound', `no route ${raw}`);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse) {
    const key = decodeURIComponent(this.record('cdn', req).slice(1));
    const [org, name, ...rest] = key.split('/');
    const data = this.repos.get(`${org}/${name}`)?.files.get(rest.join('/'));
    if (!data) return this.fail(res, 404, 'EntryNotFound', 'no such object');
    this.send(req, res, key, data, {});
  }

  private send(req: IncomingMessage, res: ServerResponse, key: string, original: Buffer, headers: Record<string, string>) {
    let data = original;
    if (this.corrupt.has(key)) {
      data = Buffer.from(original);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    headers['content-length'] = String(body.length);
    res.writeHead(range ? 206 : 200, headers);
    const cut = this.cuts.get(key);
    if (cut && cut.times > 0) {
      cut.times--;
      // Half the file, then the connection drops (a flaky network): the client must keep the .partial and resume.
      res.write(body.subarray(0, cut.bytes), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  }
}
