import * as vscode from 'vscode';
import type { DeviceChoice } from '../../protocol/attribution';
import type { BackendService } from '../backend/backendService';
import { DEVICES, SETTINGS } from '../backend/settings';
import type { Ctx } from '../ctx';


const DESCRIPTIONS: Record<DeviceChoice, string> = {
  auto: 'CUDA, then WebGPU, then CPU: the fastest that works',
  cpu: 'always available',
  cuda: 'NVIDIA GPU (needs the CUDA provider libraries)',
  webgpu: 'GPU through WebGPU',
};

/**
 * Sets `agentchord.backend.device` (user settings) from a quick pick; the backend restarts with it (BackendService
 * restarts on the settings change; a stopped backend simply starts with it next time).
 */
export async function selectDevice(ctx: Ctx, backend: BackendService, given?: DeviceChoice): Promise<DeviceChoice | undefined> {
  let device = given;
  if (device === undefined) {
    const current = vscode.workspace.getConfiguration().get<string>(SETTINGS.device, 'auto');
    const picked = await vscode.window.showQuickPick(
      DEVICES.map((d) => ({ label: d, description: d === current ? `${DESCRIPTIONS[d]} (current)` : DESCRIPTIONS[d] })),
      { title: 'AgentChord: attribution device' },
    );
    device = picked?.label as DeviceChoice | undefined;
  }
  if (!device) return undefined;
  if (!DEVICES.includes(device)) throw new Error(`AgentChord: Select Attribution Device: expected one of ${DEVICES.join(', ')}, got '${device}'`);
  const wasRunning = backend.state !== 'stopped';
  await vscode.workspace.getConfiguration().update(SETTINGS.device, device, vscode.ConfigurationTarget.Global);
  ctx.log.info(`attribution device set to ${device}${wasRunning ? '; the backend restarts with it' : ''}`);
  // The configuration listener stops the backend; start it again now when it was in use and may run here.
  if (wasRunning && vscode.workspace.isTrusted) {
    await backend.restart().catch((err) => void vscode.window.showErrorMessage(`AgentChord: ${err instanceof Error ? err.message : String(err)}`));
  }
  return device;
}
