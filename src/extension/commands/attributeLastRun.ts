import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { RUN_FILES, type CallAttribution } from '../../core/engine/types';
import { requireTrust } from '../trust';
import { openEngineSession } from './engineSession';
import type { CommandDeps, RunCommandResult } from './optimize';
import { showRunResult } from './results';
import { chooseSystem } from './target';
import { manifestAttribution } from '../../core/engine/runFolder';


/** The previous attribution.jsonl, kept beside the new one. */
export const PREVIOUS_ATTRIBUTION_FILE = 'attribution.previous.jsonl';

/** The `agentchord.attributeLastRun` command: menus pass the clicked file's Uri, tests and other callers arguments. */
export function attributeLastRunCommand(deps: CommandDeps, arg?: { uri?: vscode.Uri | string; runDir?: string } | vscode.Uri) {
  return attributeLastRun(deps, arg instanceof vscode.Uri ? { uri: arg } : (arg ?? {}));
}

/**
 * Re-attributes every call of a system's latest finished run (e.g. after the attribution model, strategy or device
 * changed) with the current system file and backend, IN PLACE: the run folder keeps its calls, and its
 * attribution.jsonl is replaced atomically once every call is done (the old one is kept as
 * attribution.previous.jsonl; a cancelled re-attribution changes nothing). run.json's `attribution` is updated.
 * graphs.jsonl and trajectories.jsonl (written by an optimize step from the old weights) are left as they were.
 */
async function attributeLastRun(deps: CommandDeps, args: { uri?: vscode.Uri | string; runDir?: string }): Promise<RunCommandResult> {
  const { ctx, systems, backend, runs, jobs } = deps;
  if (!requireTrust('Attribute Last Run')) return { ran: false, reason: 'untrusted' };
  const system = await chooseSystem(systems, 'Attribute Last Run', args.uri);
  if (!system) return { ran: false, reason: 'no-system' };
  const runDir = args.runDir ?? runs.latest(system.file, true)?.dir;
  if (!runDir) {
    void vscode.window.showErrorMessage(`AgentChord: Attribute Last Run: ${system.file} has no finished run yet (run it first).`);
    return { ran: false, reason: 'no-run' };
  }
  if (!system.attribution.model) {
    void vscode.window.showErrorMessage(`AgentChord: Attribute Last Run: ${system.file}: attribution.model is not set (name a provider: local model).`);
    return { ran: false, reason: 'no-attribution-model' };
  }
  const session = await openEngineSession(ctx, backend, system, 'Attribute Last Run');
  if (!session?.attributor) return { ran: false, reason: 'backend' };
  const attributor = session.attributor;
  const { writeFileAtomic } = await import('../../shared/atomicWrite');

  const folder = runs.open(runDir);
  const { calls } = folder.read();
  const local = runs.trackLocalRun(system.file);
  try {
    const results = await jobs.run('Attribute Last Run', async (signal, report) => {
      const out: CallAttribution[] = [];
      for (const call of calls) {
        report(call.id, out.length, calls.length);
        out.push(await attributor.attributeCall(call, signal));
        if (signal.aborted) throw signal.reason;
      }
      return out;
    });
    const file = join(runDir, RUN_FILES.attribution);
    if (existsSync(file)) copyFileSync(file, join(runDir, PREVIOUS_ATTRIBUTION_FILE));
    await writeFileAtomic(file, results.map((r) => JSON.stringify(r) + '\n').join(''));
    folder.updateManifest({
      attribution: manifestAttribution(system, true),
    });
    await session.done();
    runs.fireRunFinished(runDir);
    const ok = results.filter((r) => r.status === 'ok').length;
    ctx.log.info(`Attribute Last Run: ${runDir}: ${ok} of ${results.length} calls weighted`);
    await showRunResult(ctx, runDir, `re-attributed ${results.length} call(s) (${ok} with gradient weights).`);
    return { ran: true, runDir, status: folder.current.status };
  } catch (err) {
    const cancelled = err instanceof Error && /cancel|abort/i.test(`${err.name} ${err.message}`);
    const message = err instanceof Error ? err.message : String(err);
    if (cancelled) {
      void vscode.window.showInformationMessage('AgentChord: Attribute Last Run cancelled; the run folder is unchanged.');
      return { ran: true, runDir, status: 'cancelled', error: message };
    }
    ctx.log.error(`Attribute Last Run failed: ${message}`);
    void vscode.window.showErrorMessage(`AgentChord: Attribute Last Run failed (the run folder is unchanged): ${message}`);
    return { ran: true, reason: 'error', runDir, error: message };
  } finally {
    local.dispose();
  }
}
