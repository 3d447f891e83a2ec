import * as vscode from 'vscode';
import type { BackendClient } from '../../core/backend/client';
import type { Attributor } from '../../core/engine/attribution';
import type { ModelResolver } from '../../core/engine/models';
import type { SystemConfig } from '../../core/system/types';
import { BackendUnavailableError, type BackendService } from '../backend/backendService';
import type { Ctx } from '../ctx';
import { secretApiKeyResolver } from './apiKeys';
import { remoteModels } from '../../core/backend/remoteModels';

/** What the engine needs to run a system from the editor: model providers and, when configured, the attributor. */
export interface EngineSession {
  models: ModelResolver;
  attributor?: Attributor;
  /** Why calls carry no connection weights, when there is no attributor. */
  noAttributionReason?: string;
  /** Call when the work is done: re-reads the backend's status (the models it loaded) for the status bar. */
  done(): Promise<void>;
}

/** Whether a system needs the backend process: local agents or an attribution model. */
export function needsBackend(system: SystemConfig): boolean {
  return system.attribution.model !== undefined || Object.values(system.models).some((m) => m.kind === 'local');
}

/**
 * Builds the engine's model resolver and attributor on the backend process (started on demand; never ONNX Runtime
 * in the extension host) and the key resolver (SecretStorage, then the environment).
 * Returns undefined, after telling the user why (with Retry and Show Log), when the backend is needed but down.
 */
export async function openEngineSession(ctx: Ctx, backend: BackendService, system: SystemConfig, command: string): Promise<EngineSession | undefined> {
  if (system.attribution.backends?.length) return openPooledSession(ctx, system, command);
  let client: BackendClient | undefined;
  if (needsBackend(system)) {
    try {
      client = await backend.ensureReady();
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      const choice = await vscode.window.showErrorMessage(`AgentChord: ${command} cannot run: ${err.message}`, 'Retry', 'Show Log');
      if (choice === 'Show Log') ctx.log.show();
      if (choice === 'Retry') return openEngineSession(ctx, backend, system, command);
      return undefined;
    }
  }
  const { makeModelResolver } = await import('../../core/engine/models');
  const { makeAttributor } = await import('../../core/engine/attribution');
  const attributor = makeAttributor(system, client && remoteModels(client));
  return {
    models: makeModelResolver(system, { apiKey: secretApiKeyResolver(ctx.extension.secrets), localModels: client && remoteModels(client) }),
    attributor,
    ...(attributor ? {} : { noAttributionReason: `${system.file}: no attribution.model is set (a provider: local model)` }),
    done: async () => {
      if (client) await backend.refreshStatus().catch((err) => ctx.log.warn(`backend status: ${err instanceof Error ? err.message : String(err)}`));
    },
  };
}

/**
 * A system whose file names `attribution.backends` (several `agentchord serve` hosts): its local models run on them,
 * pooled (src/core/backend/remotePool.ts: spread, failover), instead of the extension's own backend. Tokens come from
 * SecretStorage under each backend's tokenEnv name, then the environment, as API keys do.
 */
async function openPooledSession(ctx: Ctx, system: SystemConfig, command: string): Promise<EngineSession | undefined> {
  const backends = system.attribution.backends!;
  const resolveSecret = secretApiKeyResolver(ctx.extension.secrets);
  const tokens = new Map<string, string | undefined>();
  for (const b of backends) if (!tokens.has(b.tokenEnv)) tokens.set(b.tokenEnv, await resolveSecret(b.tokenEnv));
  const { pooledRemoteModels } = await import('../../core/backend/remotePool');
  let pool;
  try {
    pool = pooledRemoteModels(
      backends.map((b, i) => ({ ...b, where: `${system.file}: attribution.backends[${i}]` })),
      (name) => tokens.get(name),
      `agentchord-vscode ${command}`,
      { onFailover: ({ backend, error }) => ctx.log.warn(`${command}: backend ${backend} failed (${error}); its calls go to the other backends`) },
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    void vscode.window.showErrorMessage(`AgentChord: ${command} cannot run: ${message} (set the token with "AgentChord: Set API Key")`);
    return undefined;
  }
  const { makeModelResolver } = await import('../../core/engine/models');
  const { makeAttributor } = await import('../../core/engine/attribution');
  const attributor = makeAttributor(system, pool);
  ctx.log.info(`${command}: local models on ${backends.length} remote backend(s): ${backends.map((b) => b.url).join(', ')}`);
  return {
    models: makeModelResolver(system, { apiKey: resolveSecret, localModels: pool }),
    attributor,
    ...(attributor ? {} : { noAttributionReason: `${system.file}: no attribution.model is set (a provider: local model)` }),
    done: () => pool.dispose(),
  };
}
