import { basename, dirname, sep } from 'node:path';
import * as vscode from 'vscode';
import { loadSystemFromText, SYSTEM_FILE_NAME, type LoadResult } from '../core/system';
import type { Ctx } from './ctx';
import { currentText, workspaceFileHost } from './fileHost';

/** One system file of the workspace and the loader's verdict on its current text. */
export interface SystemEntry {
  /** Absolute path of the agentchord.yaml. */
  file: string;
  result: LoadResult;
}

/** Folders never searched for system files (same list as the core's findSystemFiles). */
const EXCLUDE_GLOB = '**/{node_modules,.git,dist,out,.agentchord}/**';
/** Typing fires a change per keystroke; validating 200 ms after the last one keeps the editor responsive. */
export const VALIDATE_DELAY_MS = 200;

/**
 * The workspace's systems and their load results: the single source both the Problems panel and the
 * Systems view render from. Files are validated from their unsaved text when open, from disk otherwise.
 */
export class SystemWorkspace implements vscode.Disposable {
  private readonly entries = new Map<string, SystemEntry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly pending = new Set<Promise<void>>();
  /** Per file, the latest validation started: an older one finishing later must not overwrite a newer result. */
  private readonly generation = new Map<string, number>();
  private readonly changed = new vscode.EventEmitter<SystemEntry | undefined>();
  /** Fires with the entry that changed, or undefined when a system disappeared or the whole set was rescanned. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Ctx) {}

  /** Keeps the set current: edits (debounced), saves, opens and closes, files created or deleted on disk. */
  watch(): void {
    const { ctx } = this;
    ctx.own(vscode.workspace.onDidOpenTextDocument((doc) => isSystemDocument(doc) && void this.validateNow(doc.uri.fsPath)));
    ctx.own(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        if (isSystemDocument(e.document)) this.validateSoon(e.document.uri.fsPath);
        // The loader checks the prompt files too: typing in one re-validates the systems that name it.
        else if (e.document.uri.scheme === 'file') for (const file of this.systemsNaming(e.document.uri.fsPath)) this.validateSoon(file);
      }),
    );
    ctx.own(vscode.workspace.onDidSaveTextDocument((doc) => isSystemDocument(doc) && void this.validateNow(doc.uri.fsPath)));
    // Closed: fall back to the text on disk (the unsaved edits are gone); a never-saved file just disappears.
    ctx.own(
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (!isSystemDocument(doc)) return;
        if (workspaceFileHost.exists(doc.uri.fsPath)) void this.validateNow(doc.uri.fsPath);
        else this.forget(doc.uri.fsPath);
      }),
    );
    // Created/deleted anywhere: a prompt, dataset or tools module a system names may have appeared or gone.
    const anyFile = ctx.own(vscode.workspace.createFileSystemWatcher('**/*', false, true, false));
    ctx.own(
      anyFile.onDidCreate((uri) => {
        if (isIgnored(uri)) return;
        if (isSystemFile(uri.fsPath)) void this.validateNow(uri.fsPath);
        else void this.discoverBelow(uri);
        this.revalidateAllSoon();
      }),
    );
    ctx.own(
      anyFile.onDidDelete((uri) => {
        if (isIgnored(uri)) return;
        this.forget(uri.fsPath);
        this.revalidateAllSoon();
      }),
    );
    // Edited outside the editor (git checkout, another tool): only matters while the file is not open.
    const systemFiles = ctx.own(vscode.workspace.createFileSystemWatcher(`**/${SYSTEM_FILE_NAME}`, true, false, true));
    ctx.own(systemFiles.onDidChange((uri) => !isIgnored(uri) && this.validateSoon(uri.fsPath)));
    ctx.own(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.scan()));
  }

  /** All known systems, sorted by path. */
  list(): SystemEntry[] {
    return [...this.entries.values()].sort((a, b) => a.file.localeCompare(b.file));
  }

  get(file: string): SystemEntry | undefined {
    return this.entries.get(file);
  }

  /** Finds every system file in the workspace folders and validates each. */
  async scan(): Promise<void> {
    const uris = await vscode.workspace.findFiles(`**/${SYSTEM_FILE_NAME}`, EXCLUDE_GLOB);
    const found = new Set(uris.filter((u) => u.scheme === 'file').map((u) => u.fsPath));
    for (const file of [...this.entries.keys()]) if (!found.has(file)) this.entries.delete(file);
    await Promise.all([...found].map((file) => this.validateNow(file, false)));
    this.changed.fire(undefined);
  }

  /**
   * A created folder (copied, unzipped, checked out) may hold systems. File watchers report a new folder's children
   * only sometimes (VS Code folds them into the folder's own event), so look inside it.
   */
  private async discoverBelow(uri: vscode.Uri): Promise<void> {
    let isFolder = false;
    try {
      isFolder = (await vscode.workspace.fs.stat(uri)).type === vscode.FileType.Directory;
    } catch {
      return; // gone again
    }
    if (!isFolder) return;
    const found = await vscode.workspace.findFiles(new vscode.RelativePattern(uri, `**/${SYSTEM_FILE_NAME}`), EXCLUDE_GLOB);
    await Promise.all(found.filter((u) => u.scheme === 'file' && !this.entries.has(u.fsPath)).map((u) => this.validateNow(u.fsPath)));
  }

  /** The system files whose agents use `file` as their prompt, or whose problems are in it. */
  private systemsNaming(file: string): string[] {
    return [...this.entries.values()]
      .filter(({ result }) => result.system?.agents.some((a) => a.promptFile === file) || result.problems.some((p) => p.file === file))
      .map((e) => e.file);
  }

  /** Validates a system file after the typing pause. */
  validateSoon(file: string): void {
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        void this.validateNow(file);
      }, VALIDATE_DELAY_MS),
    );
  }

  /** Re-validates every known system soon (a referenced file may have appeared or gone). */
  revalidateAllSoon(): void {
    for (const file of this.entries.keys()) this.validateSoon(file);
  }

  /** Validates a system file now and records the result. */
  validateNow(file: string, notify = true): Promise<void> {
    const started = this.bump(file);
    const job = this.load(file).then((result) => {
      if (!result || this.generation.get(file) !== started) return;
      const entry = { file, result };
      this.entries.set(file, entry);
      if (notify) this.changed.fire(entry);
    });
    this.pending.add(job);
    return job.finally(() => this.pending.delete(job));
  }

  /** Forgets a system file (deleted), or every system below a deleted folder. */
  forget(path: string): void {
    let removed = false;
    for (const file of [...this.entries.keys()]) {
      if (file === path || file.startsWith(path + sep)) {
        this.bump(file);
        clearTimeout(this.timers.get(file));
        this.timers.delete(file);
        this.entries.delete(file);
        removed = true;
      }
    }
    if (removed) this.changed.fire(undefined);
  }

  /** Resolves once no validation is scheduled or running (used by tests and by callers that need fresh results). */
  async settled(): Promise<void> {
    while (this.timers.size > 0 || this.pending.size > 0) {
      await Promise.all([...this.pending, new Promise((r) => setTimeout(r, VALIDATE_DELAY_MS))]);
    }
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.changed.dispose();
  }

  private bump(file: string): number {
    const next = (this.generation.get(file) ?? 0) + 1;
    this.generation.set(file, next);
    return next;
  }

  private async load(file: string): Promise<LoadResult | undefined> {
    let text: string;
    try {
      text = await currentText(file);
    } catch {
      // Deleted between the event and the read: the delete event removes it.
      return undefined;
    }
    try {
      return loadSystemFromText(file, text, workspaceFileHost);
    } catch (err) {
      // A loader bug must not take the editor down: show it as a problem at the top of the file.
      this.ctx.log.error(`validating ${file} failed`, err);
      const message = `AgentChord could not validate this file: ${err instanceof Error ? err.message : String(err)}`;
      return { problems: [{ file, line: 1, column: 1, message, severity: 'error' }] };
    }
  }
}

function isSystemDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && isSystemFile(doc.uri.fsPath);
}

/** Outside the folders the scan skips (EXCLUDE_GLOB): build output and dependencies churn, and hold no systems. */
function isIgnored(uri: vscode.Uri): boolean {
  // Relative to the workspace folder, so a workspace that itself lives under e.g. ~/out/ is not ignored.
  const relative = vscode.workspace.asRelativePath(uri, false);
  return uri.scheme !== 'file' || /(^|[\\/])(node_modules|\.git|dist|out|\.agentchord)([\\/]|$)/.test(relative);
}

export function isSystemFile(path: string): boolean {
  return basename(path) === SYSTEM_FILE_NAME;
}

/** A readable name for a system: its `name:` when it loaded, else its folder's name. */
export function systemLabel(entry: SystemEntry): string {
  return entry.result.system?.name ?? basename(dirname(entry.file));
}
