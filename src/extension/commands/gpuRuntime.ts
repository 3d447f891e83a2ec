/**
 * "AgentChord: Install GPU Runtime" and "AgentChord: GPU Status": the bundled CLI (`dist/cli.js gpu install|status`)
 * run as a child process, so downloading and probing never block the extension host or load ORT into it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { BackendService } from '../backend/backendService';
import type { Ctx } from '../ctx';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dist/cli.js <args>`; each stderr line goes to onLine; cancelling sends SIGTERM (the CLI cleans up). */
function runCli(ctx: Ctx, args: string[], onLine: (line: string) => void, token?: vscode.CancellationToken): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // In desktop VS Code process.execPath is the Electron binary: ELECTRON_RUN_AS_NODE makes it plain Node.
    const child = spawn(process.execPath, [join(ctx.extension.extensionPath, 'dist', 'cli.js'), ...args], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ORT_DISABLE_TELEMETRY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const cancel = token?.onCancellationRequested(() => child.kill('SIGTERM'));
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line.trim());
    });
    child.on('error', (err) => {
      cancel?.dispose();
      reject(err);
    });
    child.on('close', (code) => {
      cancel?.dispose();
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line the CLI wrote to stderr without its "agentchord: " prefix: its error message. */
function errorOf(result: CliResult): string {
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('agentchord: '));
  return (lines.pop() ?? result.stderr.trim().split('\n').pop() ?? `exit code ${result.code}`).replace(/^agentchord: /, '');
}

export interface InstallGpuRuntimeArgs {
  /** Skip the confirmation (tests). */
  confirmed?: boolean;
}

export async function installGpuRuntime(ctx: Ctx, backend: BackendService, args: InstallGpuRuntimeArgs = {}): Promise<boolean> {
  if (!args.confirmed) {
    const choice = await vscode.window.showInformationMessage(
      'Download the CUDA execution provider of ONNX Runtime?',
      {
        modal: true,
        detail:
          "Several hundred MB from the NuGet package onnxruntime-node's own installer uses (nuget.org, or the mirror in AGENTCHORD_GPU_FEED), checked against the feed's SHA-512, into ~/.cache/agentchord/gpu. CUDA 12 and cuDNN 9 must be installed separately (see GPU Status).",
      },
      'Install',
    );
    if (choice !== 'Install') return false;
  }
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'AgentChord: installing the GPU runtime', cancellable: true },
    (progress, token) =>
      runCli(
        ctx,
        ['gpu', 'install'],
        (line) => {
          ctx.log.info(`gpu install: ${line}`);
          progress.report({ message: line });
        },
        token,
      ).then((r) => ({ ...r, cancelled: token.isCancellationRequested })),
  );
  if (result.cancelled) {
    void vscode.window.showInformationMessage('AgentChord: GPU runtime install cancelled; nothing was installed.');
    return false;
  }
  if (result.code !== 0) {
    ctx.log.error(`gpu install failed:\n${result.stderr}`);
    void vscode.window.showErrorMessage(`AgentChord: ${errorOf(result)}`);
    return false;
  }
  ctx.log.info(result.stdout.trim());
  const actions = backend.state !== 'stopped' ? ['Restart Backend', 'GPU Status'] : ['GPU Status'];
  void vscode.window.showInformationMessage('AgentChord: the CUDA provider is installed.', ...actions).then(async (choice) => {
    if (choice === 'Restart Backend') await backend.restart().catch((err) => void vscode.window.showErrorMessage(`AgentChord: ${err instanceof Error ? err.message : String(err)}`));
    if (choice === 'GPU Status') await showGpuStatus(ctx);
  });
  return true;
}

let channel: vscode.OutputChannel | undefined;

/** Shows `agentchord gpu status` (what each provider needs, what is missing, the probe's verdict) in an output channel. */
export async function showGpuStatus(ctx: Ctx): Promise<string> {
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'AgentChord: checking GPU providers' }, () => runCli(ctx, ['gpu', 'status'], () => undefined));
  if (!channel) {
    channel = ctx.own(vscode.window.createOutputChannel('AgentChord GPU'));
    ctx.own({ dispose: () => (channel = undefined) });
  }
  const text = result.code === 0 ? result.stdout : `agentchord gpu status failed: ${errorOf(result)}\n`;
  channel.replace(text);
  channel.show(true);
  return text;
}
