import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import * as vscode from 'vscode';
import { BackendUnavailableError } from '../backend/backendService';
import { requireTrust } from '../trust';
import type { CommandDeps, RunCommandResult } from './optimize';
import { showRunResult } from './results';
import { chooseSystem } from './target';

const TITLE = 'Blame Run';

export interface BlameRunArgs {
  uri?: vscode.Uri | string;
  /** The run folder (default: the system's latest finished run). */
  runDir?: string;
  /** Verdicts `{traceId, loss, score}` per line (default: an open dialog). */
  verdicts?: string;
}

/** The `agentchord.blameRun` command: menus pass the clicked file's Uri, tests and other callers arguments. */
export function blameRunCommand(deps: CommandDeps, arg?: BlameRunArgs | vscode.Uri): Promise<RunCommandResult> {
  return blameRun(deps, arg instanceof vscode.Uri ? { uri: arg } : (arg ?? {}));
}

/**
 * `agentchord blame` in the editor (src/core/trace/blame.ts): the connection weights of every call of a run (an
 * imported trace, typically) on the system's attribution model, in the backend process, a verdict per trace from a
 * file, and the backward pass; the run folder's weights, samples, graphs and trajectories are replaced (each file
 * atomically; a cancelled blame changes nothing), so CodeLens, the graph and saliency show the blame.
 */
async function blameRun(deps: CommandDeps, args: BlameRunArgs): Promise<RunCommandResult> {
  const { ctx, systems, backend, runs, jobs } = deps;
  if (!requireTrust(TITLE, 'it rewrites the run folder')) return { ran: false, reason: 'untrusted' };
  const system = await chooseSystem(systems, TITLE, args.uri);
  if (!system) return { ran: false, reason: 'no-system' };
  const runDir = args.runDir ?? runs.latest(system.file, true)?.dir;
  if (!runDir) {
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: ${system.file} has no finished run yet (import a trace or run it first).`);
    return { ran: false, reason: 'no-run' };
  }
  const model = system.attribution.model ? system.models[system.attribution.model] : undefined;
  if (!model || model.kind !== 'local') {
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: ${system.file}: attribution.model is not set (name a provider: local model).`);
    return { ran: false, reason: 'no-attribution-model' };
  }
  let verdicts = args.verdicts;
  if (!verdicts) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Verdicts: {"traceId", "loss", "score"} per line',
      canSelectMany: false,
      filters: { Verdicts: ['jsonl', 'json'], 'All files': ['*'] },
    });
    verdicts = picked?.[0]?.fsPath;
    if (!verdicts) return { ran: false, reason: 'cancelled' };
  }
  verdicts = isAbsolute(verdicts) ? verdicts : resolve(system.dir, verdicts);
  if (!existsSync(verdicts)) {
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: verdicts file not found: ${verdicts}`);
    return { ran: false, reason: 'error', error: `not found: ${verdicts}` };
  }

  let client;
  try {
    client = await backend.ensureReady();
  } catch (err) {
    if (!(err instanceof BackendUnavailableError)) throw err;
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE} cannot run: ${err.message}`);
    return { ran: false, reason: 'backend' };
  }
  const { remoteModels } = await import('../../core/backend/remoteModels');
  const { blameRun: blame } = await import('../../core/trace/blame');
  const local = runs.trackLocalRun(system.file);
  try {
    const result = await jobs.run(TITLE, (signal, report) =>
      blame(runDir, {
        modelPath: model.path,
        device: model.device,
        models: remoteModels(client),
        strategy: system.attribution.strategy,
        topK: system.attribution.topK,
        verdicts: { kind: 'loss-file', file: verdicts },
        signal,
        onProgress: (done, total, callId) => report(callId, done, total),
      }),
    );
    await backend.refreshStatus().catch(() => undefined);
    runs.fireRunFinished(runDir);
    const blamed = result.blame.filter((b) => b.share > 0).map((b) => `${b.agent} ${(b.share * 100).toFixed(0)}%`);
    ctx.log.info(`${TITLE}: ${runDir}: ${result.trajectories.length} trajectories; ${blamed.join(', ') || 'nothing blamed'}`);
    await showRunResult(ctx, runDir, `${result.trajectories.length} trajectories; blame: ${blamed.join(', ') || 'none (no failing verdict)'}.`);
    return { ran: true, runDir, status: 'completed' };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof Error && /cancel|abort/i.test(`${err.name} ${message}`)) {
      void vscode.window.showInformationMessage(`AgentChord: ${TITLE} cancelled; the run folder is unchanged.`);
      return { ran: true, runDir, status: 'cancelled', error: message };
    }
    ctx.log.error(`${TITLE} failed: ${message}`);
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE} failed (the run folder is unchanged): ${message}`);
    return { ran: true, reason: 'error', runDir, error: message };
  } finally {
    local.dispose();
  }
}
