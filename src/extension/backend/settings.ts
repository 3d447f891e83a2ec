import * as vscode from 'vscode';
import type { DeviceChoice } from '../../protocol/attribution';
import { parseRemote } from '../pure/backend/remoteAddress';

/** The extension's settings (package.json `contributes.configuration`), read fresh each time they are needed. */
export const SETTINGS = {
  device: 'agentchord.backend.device',
  remote: 'agentchord.backend.remote',
  remoteCa: 'agentchord.backend.remoteCa',
  cacheDir: 'agentchord.backend.cacheDir',
  concurrency: 'agentchord.run.concurrency',
  acceptanceTest: 'agentchord.optimize.acceptanceTest',
} as const;

export const DEVICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda', 'webgpu'];

/** SecretStorage name of the bearer token of a remote backend (`agentchord.backend.remote`). */
export const REMOTE_TOKEN_SECRET = 'agentchord.backend.token';

export interface BackendSettings {
  device: DeviceChoice;
  /** A backend started elsewhere with `--listen`: where to connect. */
  remote?: { host: string; port: number; tls?: true };
  /** PEM file of the CA that signed a tls:// remote backend's certificate (absent: the system's CAs). */
  remoteCa?: string;
  /** Compiled-graph cache folder; undefined: the backend's default. */
  cacheDir?: string;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration();
}

/** The backend settings; a malformed value throws an error naming the setting. */
export function backendSettings(): BackendSettings {
  const device = config().get<string>(SETTINGS.device, 'auto');
  if (!DEVICES.includes(device as DeviceChoice)) {
    throw new Error(`setting ${SETTINGS.device}: expected one of ${DEVICES.join(', ')}, got '${device}'`);
  }
  // User settings only: the backend token is sent to that host, so a workspace must not be able to choose it (the
  // setting is application-scoped in package.json; this also ignores a workspace value that slipped in).
  const remoteText = (config().inspect<string>(SETTINGS.remote)?.globalValue ?? '').trim();
  const cacheDir = config().get<string>(SETTINGS.cacheDir, '').trim();
  const remoteCa = (config().inspect<string>(SETTINGS.remoteCa)?.globalValue ?? '').trim();
  return {
    device: device as DeviceChoice,
    ...(remoteText ? { remote: parseRemote(remoteText, SETTINGS.remote) } : {}),
    ...(cacheDir ? { cacheDir } : {}),
    ...(remoteCa ? { remoteCa } : {}),
  };
}

/** Samples run at once by Run and Optimize (`agentchord.run.concurrency`, default 4). */
export function runConcurrency(): number {
  const n = config().get<number>(SETTINGS.concurrency, 4);
  if (!Number.isInteger(n) || n < 1) throw new Error(`setting ${SETTINGS.concurrency}: expected a whole number >= 1, got ${n}`);
  return n;
}

/** `agentchord.optimize.acceptanceTest`: 'system' (the system file decides), 'on' or 'off'. */
export function acceptanceTestOverride(): boolean | undefined {
  const value = config().get<string>(SETTINGS.acceptanceTest, 'system');
  return value === 'on' ? true : value === 'off' ? false : undefined;
}
