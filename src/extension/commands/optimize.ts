import * as vscode from 'vscode';
import type { Split } from '../../core/engine/dataset';
import type { SystemConfig } from '../../core/system/types';
import type { BackendService } from '../backend/backendService';
import { acceptanceTestOverride, runConcurrency } from '../backend/settings';
import type { Ctx } from '../ctx';
import type { RunStore } from '../runs/runStore';
import type { SystemWorkspace } from '../systemWorkspace';
import { requireTrust } from '../trust';
import { openEngineSession } from './engineSession';
import type { Jobs } from './job';
import { showRunResult } from './results';
import { chooseSystem } from './target';


const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/** Arguments that let tests (and other commands) run Optimize / Run without prompts. */
export interface RunArgs {
  /** A system file, a prompt file of a system, or a folder holding a system. Default: the active editor's. */
  uri?: vscode.Uri | string;
  split?: Split;
  /** Optimize only: optimization steps (default optimizer.steps). */
  steps?: number;
  /** Optimize only: training samples per step (default optimizer.batchSize). */
  batchSize?: number;
  /** Run only: the first n samples of the split. */
  limit?: number;
  /** Ask nothing: no confirmation before spending model calls, and unsaved edits are not saved (disk is read). */
  yes?: boolean;
}

/** What the commands return (`executeCommand` resolves to it): whether it ran, and the run folder when it did. */
export interface RunCommandResult {
  ran: boolean;
  /** Why it did not run: 'untrusted', 'cancelled-by-user' (a prompt dismissed), 'no-system', 'backend', 'error'. */
  reason?: string;
  runDir?: string;
  status?: string;
  /** Optimize: the proposal files written. */
  proposals?: string[];
  error?: string;
}

export interface CommandDeps {
  ctx: Ctx;
  systems: SystemWorkspace;
  backend: BackendService;
  runs: RunStore;
  jobs: Jobs;
}

/** Menus pass the clicked file's Uri; tests and other callers pass RunArgs. */
export function runArgs(arg: RunArgs | vscode.Uri | undefined): RunArgs {
  return arg instanceof vscode.Uri ? { uri: arg } : (arg ?? {});
}

/** The dataset split: the given one, the only one the system has, else a quick pick (train first). */
async function chooseSplit(system: SystemConfig, given: Split | undefined, preferred: Split): Promise<Split | undefined> {
  if (given) {
    if (!system.datasets[given]) {
      void vscode.window.showErrorMessage(`AgentChord: ${system.file}: datasets.${given} is not set.`);
      return undefined;
    }
    return given;
  }
  const available = SPLITS.filter((s) => system.datasets[s]);
  if (available.length <= 1) return available[0] ?? preferred;
  const ordered = [preferred, ...available.filter((s) => s !== preferred)].filter((s) => available.includes(s));
  const picked = await vscode.window.showQuickPick(
    ordered.map((s) => ({ label: s, description: system.datasets[s] })),
    { title: `AgentChord: which dataset split of ${system.name ?? system.file}?` },
  );
  return picked?.label as Split | undefined;
}

async function confirm(message: string, yes: boolean | undefined): Promise<boolean> {
  if (yes) return true;
  return (await vscode.window.showWarningMessage(message, { modal: true }, 'Run')) === 'Run';
}

export async function optimizeCommand(deps: CommandDeps, args: RunArgs): Promise<RunCommandResult> {
  const { ctx, systems, backend, runs, jobs } = deps;
  if (!requireTrust('Optimize')) return { ran: false, reason: 'untrusted' };
  const system = await chooseSystem(systems, 'Optimize', args.uri, { askToSave: !args.yes });
  if (!system) return { ran: false, reason: 'no-system' };
  const split = await chooseSplit(system, args.split, 'train');
  if (!split) return { ran: false, reason: 'cancelled-by-user' };
  const steps = args.steps ?? system.optimizer.steps;
  const batchSize = args.batchSize ?? system.optimizer.batchSize;
  const question = `Optimize ${system.name ?? system.file}: ${steps} step(s) of ${batchSize} ${split} sample(s). This calls the system's models and writes proposals (never your prompt files).`;
  if (!(await confirm(question, args.yes))) return { ran: false, reason: 'cancelled-by-user' };
  const session = await openEngineSession(ctx, backend, system, 'Optimize');
  if (!session) return { ran: false, reason: 'backend' };
  const { optimize } = await import('../../core/engine/loop');
  const { formatEstimate } = await import('../../core/engine/estimate');

  const startedAt = Date.now();
  const local = runs.trackLocalRun(system.file);
  try {
    const result = await jobs.run(`Optimize ${system.name ?? ''}`.trim(), (signal, report) =>
      optimize({
        system,
        split,
        steps,
        batchSize,
        acceptanceTest: acceptanceTestOverride(),
        concurrency: runConcurrency(),
        models: session.models,
        attributor: session.attributor,
        noAttributionReason: session.noAttributionReason,
        signal,
        onEstimate: (e) => void ctx.log.info(`Optimize: ${formatEstimate(e)}`),
        onProgress: (p) => report(`step ${p.step + 1}/${p.steps} ${p.phase}: ${p.message}`, p.done, p.total),
      }),
    );
    await session.done();
    const runDir = result.folder.dir;
    for (const line of result.log) ctx.log.info(`Optimize: ${line}`);
    runs.fireRunFinished(runDir);
    const headline = `optimize ${result.status}${result.stopReason ? ` (${result.stopReason})` : ''}: ${result.proposals.length} proposal(s) to review.`;
    if (result.status === 'cancelled') {
      void vscode.window.showInformationMessage(`AgentChord: Optimize cancelled after ${result.stepsDone} step(s); the run folder keeps what was done.`);
    } else {
      await showRunResult(ctx, runDir, headline, result.proposals.length > 0);
    }
    return { ran: true, runDir, status: result.status, proposals: result.proposals };
  } catch (err) {
    // The loop creates the run folder itself: find the one this command started, if it got that far.
    const started = runs.list(system.file).find((r) => r.manifest.kind === 'optimize' && Date.parse(r.manifest.createdAt) >= startedAt - 1000);
    return failed(deps, 'Optimize', err, started?.dir);
  } finally {
    local.dispose();
  }
}

export async function runCommand(deps: CommandDeps, args: RunArgs): Promise<RunCommandResult> {
  const { ctx, systems, backend, runs, jobs } = deps;
  if (!requireTrust('Run')) return { ran: false, reason: 'untrusted' };
  const system = await chooseSystem(systems, 'Run', args.uri, { askToSave: !args.yes });
  if (!system) return { ran: false, reason: 'no-system' };
  const split = await chooseSplit(system, args.split, 'train');
  if (!split) return { ran: false, reason: 'cancelled-by-user' };
  const session = await openEngineSession(ctx, backend, system, 'Run');
  if (!session) return { ran: false, reason: 'backend' };
  const { loadDataset } = await import('../../core/engine/dataset');
  const { runSplit } = await import('../../core/engine/runSplit');

  let runDir: string | undefined;
  const local = runs.trackLocalRun(system.file);
  try {
    let samples = loadDataset(system, split);
    if (args.limit !== undefined) samples = samples.slice(0, args.limit);
    if (!(await confirm(`Run ${system.name ?? system.file} on ${samples.length} ${split} sample(s)? This calls the system's models.`, args.yes))) {
      return { ran: false, reason: 'cancelled-by-user' };
    }
    const { folder } = await jobs.run(`Run ${system.name ?? ''}`.trim(), (signal, report) =>
      runSplit({
        system,
        split,
        samples,
        onFolder: (folder) => (runDir = folder.dir),
        models: session.models,
        attributor: session.attributor,
        noAttributionReason: session.noAttributionReason,
        concurrency: runConcurrency(),
        signal,
        onProgress: (e) => report(`${e.callsDone} calls`, e.samplesDone, e.samplesTotal),
      }),
    );
    await session.done();
    runs.fireRunFinished(folder.dir);
    await showRunResult(ctx, folder.dir, `run completed: ${samples.length} sample(s).`);
    return { ran: true, runDir: folder.dir, status: 'completed' };
  } catch (err) {
    return failed(deps, 'Run', err, runDir);
  } finally {
    local.dispose();
  }
}

/** A run that threw: cancelled (the run folder says so) or failed; either way the folder keeps what was done. */
export function failed(deps: CommandDeps, command: string, err: unknown, runDir: string | undefined): RunCommandResult {
  const message = err instanceof Error ? err.message : String(err);
  const status = runDir ? deps.runs.open(runDir).current.status : undefined;
  if (runDir) deps.runs.fireRunFinished(runDir);
  if (status === 'cancelled') {
    deps.ctx.log.info(`${command} cancelled; what finished is in ${runDir}`);
    void vscode.window.showInformationMessage(`AgentChord: ${command} cancelled. The calls finished so far are in the run folder.`);
    return { ran: true, runDir, status, error: message };
  }
  deps.ctx.log.error(`${command} failed: ${message}`);
  void vscode.window.showErrorMessage(`AgentChord: ${command} failed: ${message}`, 'Show Log').then((c) => c && deps.ctx.log.show());
  return { ran: true, reason: 'error', runDir, status: status ?? 'failed', error: message };
}
