/**
 * `--backend <url>` (repeatable) on run, optimize, blame and attribute, and `attribution.backends` in agentchord.yaml:
 * remote attribution backends (`agentchord serve`) as one LocalModels (src/core/backend/pool.ts). The flags win over
 * the file. Tokens come from environment variables, never from flags or files.
 */
import { resolve } from 'node:path';
import { parseBackendUrl as parseUrl, pooledRemoteModels } from '../core/backend/remotePool';
import type { LocalModels } from '../protocol/localModel';
import type { RemoteBackendConfig } from '../core/system/types';
import { CliError } from './cliError';

export const BACKEND_OPTIONS = {
  backend: { type: 'string', multiple: true },
  'backend-token-env': { type: 'string' },
  'backend-ca': { type: 'string' },
  'backend-concurrency': { type: 'string' },
} as const;

export const BACKEND_OPTIONS_HELP = `  --backend <url>      attribution on a remote backend (agentchord serve): tcp://host:port or tls://host:port;
                       repeat for several (calls are spread over them, a failed one's calls go to the others).
                       Overrides attribution.backends in agentchord.yaml
  --backend-token-env V  variable holding the backends' token (default AGENTCHORD_BACKEND_TOKEN)
  --backend-ca <file>  PEM CA that signed the tls:// backends' certificates (default: the system's CAs)
  --backend-concurrency n  calls in flight per backend (default 1)`;

export interface BackendFlags {
  backend?: string[];
  'backend-token-env'?: string;
  'backend-ca'?: string;
  'backend-concurrency'?: string;
}

/** tcp://host:port or tls://host:port; errors name `where` (the flag or the file field). */
export function parseBackendUrl(url: string, where: string): { tls: boolean; host: string; port: number } {
  try {
    return parseUrl(url, where);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** The backends the command should use: from the flags, else the system file; undefined when neither names any. */
export function backendConfigs(command: string, flags: BackendFlags, fromSystem?: RemoteBackendConfig[]): Array<RemoteBackendConfig & { where: string }> | undefined {
  if (flags.backend?.length) {
    const concurrency = flags['backend-concurrency'] === undefined ? undefined : Number(flags['backend-concurrency']);
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new CliError(`${command}: --backend-concurrency: expected a whole number >= 1, got '${flags['backend-concurrency']}'`);
    }
    const tokenEnv = flags['backend-token-env'] ?? 'AGENTCHORD_BACKEND_TOKEN';
    return flags.backend.map((url) => ({
      url,
      tokenEnv,
      ...(flags['backend-ca'] ? { ca: resolve(flags['backend-ca']) } : {}),
      ...(concurrency ? { concurrency } : {}),
      where: `${command}: --backend`,
    }));
  }
  for (const flag of ['backend-token-env', 'backend-ca', 'backend-concurrency'] as const) {
    if (flags[flag] !== undefined) throw new CliError(`${command}: --${flag} needs --backend`);
  }
  return fromSystem?.map((b, i) => ({ ...b, where: `attribution.backends[${i}]` }));
}

/** Clients for the configured backends, pooled; undefined when none are configured. Tokens: environment variables. */
export function remoteModelsFor(command: string, flags: BackendFlags, fromSystem?: RemoteBackendConfig[]): LocalModels | undefined {
  const configs = backendConfigs(command, flags, fromSystem);
  if (!configs) return undefined;
  try {
    return pooledRemoteModels(configs, (name) => process.env[name], `agentchord-cli ${command}`, {
      onFailover: ({ backend, error }) => process.stderr.write(`agentchord: backend ${backend} failed (${error}); its calls go to the other backends\n`),
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
