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
