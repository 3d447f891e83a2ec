/**
 * Remote attribution backends (`agentchord serve`) from their configuration (`attribution.backends`, or the CLI's
 * --backend flags) as one pooled LocalModels: shared by the CLI and the extension, which differ only in where tokens
 * come from (environment variables; SecretStorage, then the environment). Errors name `where` (the field or flag).
 */
import { readFileSync } from 'node:fs';
import type { LocalModels } from '../../protocol/localModel';
import type { RemoteBackendConfig } from '../system/types';
import { BackendClient } from './client';
import { pooledModels, type PoolOptions } from './pool';

export type BackendConfigAt = RemoteBackendConfig & { where: string };

/** tcp://host:port or tls://host:port; an error names `where` (the flag or the file field). */
export function parseBackendUrl(url: string, where: string): { tls: boolean; host: string; port: number } {
  const m = /^(tcp|tls):\/\/(\[[^\]]+\]|[^\s/:]+):(\d{1,5})$/.exec(url);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`${where}: expected tcp://host:port or tls://host:port, got '${url}'`);
  return { tls: m[1] === 'tls', host: m[2].replace(/^\[|\]$/g, ''), port };
}

/**
 * A client per backend, pooled. `token(name)` reads the variable or secret a backend's `tokenEnv` names (an async
 * store such as SecretStorage is read by the caller first).
 */
export function pooledRemoteModels(
  configs: readonly BackendConfigAt[],
  token: (name: string) => string | undefined,
  clientName: string,
  options: PoolOptions = {},
): LocalModels {
  const members = [];
  for (const b of configs) {
    const { tls, host, port } = parseBackendUrl(b.url, b.where);
    const secret = token(b.tokenEnv);
    if (!secret) throw new Error(`${b.where}: backend ${b.url}: its token (${b.tokenEnv}) is not set`);
    if (b.ca && !tls) throw new Error(`${b.where}: backend ${b.url}: a CA file is only for tls:// backends`);
    let ca: Buffer | undefined;
    if (b.ca) {
      try {
        ca = readFileSync(b.ca);
      } catch (err) {
        throw new Error(`${b.where}: backend ${b.url}: cannot read the CA file ${b.ca} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    const client = new BackendClient({
      connect: { host, port, token: secret, ...(tls ? { tls: { ...(ca ? { ca } : {}) } } : {}) },
      clientName,
      // A remote backend that went away is some other backend's work now: reconnect once, quickly, then give up.
      maxRestarts: 1,
      restartDelayMs: 200,
      startTimeoutMs: 30_000,
    });
    members.push({ client, name: b.url, concurrency: b.concurrency ?? 1 });
  }
  return pooledModels(members, options);
}
