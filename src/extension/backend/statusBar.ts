import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import type { BackendService } from './backendService';
import { COMMANDS } from '../commandIds';


const ICONS = { stopped: '$(circle-outline)', starting: '$(sync~spin)', ready: '$(pulse)', crashed: '$(error)' } as const;

/** The status bar item: backend state, device and model; a click shows the backend's status. */
export function registerBackendStatusBar(ctx: Ctx, backend: BackendService): vscode.StatusBarItem {
  const item = ctx.own(vscode.window.createStatusBarItem('agentchord.backend', vscode.StatusBarAlignment.Right, 100));
  item.name = 'AgentChord Backend';
  item.command = COMMANDS.showBackendStatus;
  const render = () => {
    item.text = `${ICONS[backend.state]} AgentChord: ${backend.describe()}`;
    item.tooltip = backend.error ? `Attribution backend: ${backend.error}` : 'Attribution backend (click for its status)';
    item.backgroundColor = backend.state === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  render();
  item.show();
  ctx.own(backend.onDidChange(render));
  return item;
}

/** A health check (when running) and a summary with the actions that make sense in the current state. */
export async function showBackendStatus(ctx: Ctx, backend: BackendService): Promise<void> {
  let status = backend.status;
  if (backend.state === 'ready') status = await backend.refreshStatus().catch(() => undefined);
  const lines = status
    ? [
        `device ${status.device.device} (${status.device.providers.join(', ')})${status.device.reason ? ` — ${status.device.reason}` : ''}`,
        `models: ${status.loadedModels.map((m) => `${m.dir} on ${m.device}`).join('; ') || 'none loaded'}`,
        `pid ${status.pid}, up ${Math.round(status.uptimeSeconds)} s, ${Math.round(status.memory.rss / 2 ** 20)} MiB`,
      ]
    : [backend.error ?? 'not started (it starts when a command needs it)'];
  const choice = await vscode.window.showInformationMessage(
    `AgentChord backend: ${backend.state}. ${lines.join('. ')}`,
    backend.state === 'stopped' ? 'Start' : 'Restart',
    'Show Log',
  );
  if (choice === 'Show Log') ctx.log.show();
  if (choice === 'Start' || choice === 'Restart') {
    await backend.restart().catch((err) => void vscode.window.showErrorMessage(`AgentChord: ${err instanceof Error ? err.message : String(err)}`));
  }
}
