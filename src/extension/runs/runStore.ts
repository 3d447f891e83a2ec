import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { listRunDirs } from '../../core/engine/runList';
import { RunFolder, runsDirFor } from '../../core/engine/runFolder';
import type { RunManifest } from '../../core/engine/types';
import type { Ctx } from '../ctx';

/** One run folder as listed: where it is and its manifest (run.json) as read when listed. */
export interface RunInfo {
  /** Absolute path of `<system dir>/.agentchord/runs/<id>/`. */
  dir: string;
  manifest: RunManifest;
}

/** Statuses after which a run folder no longer changes (until a re-attribution or a resume). */
const FINISHED: ReadonlySet<RunManifest['status']> = new Set(['completed', 'cancelled', 'failed', 'budget_exhausted']);

/**
 * The run folders of the workspace's systems (`<system dir>/.agentchord/runs/<id>/`) and the "a run finished" event
 * that CodeLens, the graph and token saliency refresh on. Runs started from the editor fire `onRunFinished` when
 * they end; runs from the CLI fire it when their run.json turns to a finished status (file watcher).
 */
export class RunStore implements vscode.Disposable {
  private readonly finished = new vscode.EventEmitter<string>();
  private readonly changed = new vscode.EventEmitter<string>();
  /** Last status seen per run folder, so a watcher event for an unchanged status does not fire twice. */
  private readonly lastStatus = new Map<string, RunManifest['status']>();
  /** Runs folders in which the extension itself is running something (it fires onRunFinished itself), with counts. */
  private readonly local = new Map<string, number>();

  /** Fires with the run folder (absolute path) of a run that finished or was re-attributed. */
  readonly onRunFinished = this.finished.event;
  /** Fires with a run folder whose run.json was created, changed or deleted (any status). */
  readonly onDidChange = this.changed.event;

  constructor(ctx: Ctx) {
    const watcher = ctx.own(vscode.workspace.createFileSystemWatcher('**/.agentchord/runs/*/run.json'));
    const onManifest = (uri: vscode.Uri) => {
      const runDir = dirname(uri.fsPath);
      this.changed.fire(runDir);
      const info = readRun(runDir);
      if (!info) return;
      const before = this.lastStatus.get(runDir);
      this.lastStatus.set(runDir, info.manifest.status);
      if (this.local.has(dirname(runDir))) return;
      if (FINISHED.has(info.manifest.status) && before !== info.manifest.status) this.finished.fire(runDir);
    };
    ctx.own(watcher.onDidCreate(onManifest));
    ctx.own(watcher.onDidChange(onManifest));
    ctx.own(watcher.onDidDelete((uri) => this.changed.fire(dirname(uri.fsPath))));
  }

  /** The runs folder of a system file (`<system dir>/.agentchord/runs`). */
  runsDir(systemFile: string): string {
    return runsDirFor(dirname(systemFile));
  }

  /** A system's runs, newest first (run ids sort by time). Folders without a readable run.json are skipped. */
  list(systemFile: string): RunInfo[] {
    return listRunDirs(dirname(systemFile)).flatMap((dir) => readRun(dir) ?? []);
  }

  /** A system's newest run, or undefined when it has none. `finishedOnly` skips runs still running. */
  latest(systemFile: string, finishedOnly = false): RunInfo | undefined {
    return this.list(systemFile).find((r) => !finishedOnly || FINISHED.has(r.manifest.status));
  }

  /** The newest run among the given systems (e.g. `systems.list().map((s) => s.file)`). */
  latestOf(systemFiles: readonly string[], finishedOnly = false): RunInfo | undefined {
    return systemFiles
      .flatMap((f) => this.latest(f, finishedOnly) ?? [])
      .sort((a, b) => b.manifest.createdAt.localeCompare(a.manifest.createdAt))[0];
  }

  /** Opens a run folder for reading (`.read()` gives calls, attribution, graphs, proposals...). */
  open(runDir: string): RunFolder {
    return RunFolder.open(runDir);
  }

  /**
   * Marks a system's runs as being written by the extension until the returned disposable is disposed: the file
   * watcher then leaves onRunFinished to `fireRunFinished` (call it before disposing), so it fires once per run.
   */
  trackLocalRun(systemFile: string): vscode.Disposable {
    const dir = this.runsDir(systemFile);
    this.local.set(dir, (this.local.get(dir) ?? 0) + 1);
    return new vscode.Disposable(() => {
      const left = (this.local.get(dir) ?? 1) - 1;
      if (left > 0) this.local.set(dir, left);
      else this.local.delete(dir);
    });
  }

  /** Announces that a run ended (or was re-attributed): listeners re-read the folder. */
  fireRunFinished(runDir: string): void {
    const info = readRun(runDir);
    if (info) this.lastStatus.set(runDir, info.manifest.status);
    this.finished.fire(runDir);
  }

  dispose(): void {
    this.finished.dispose();
    this.changed.dispose();
  }
}

/** A run folder's manifest, or undefined when it is missing or unreadable (a run being created, a stray folder). */
export function readRun(dir: string): RunInfo | undefined {
  try {
    return { dir, manifest: RunFolder.open(dir).current };
  } catch {
    return undefined;
  }
}
