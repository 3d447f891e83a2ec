import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import * as vscode from 'vscode';
import { SYSTEM_FILE_NAME } from '../../core/system';
import type { ImportTraceResult } from '../../core/trace/importTrace';
import { TraceError, type TraceFormat } from '../../core/trace/types';
import type { Ctx } from '../ctx';
import { openGraph } from '../graph';
import { defaultImportFolder, IMPORT_FOLDER, importSummary } from '../pure/trace/importTrace';
import { requireTrust } from '../trust';
import type { CommandDeps } from './optimize';

const TITLE = 'Import Trace';

/** Arguments that let tests and other callers import without any prompt. */
export interface ImportTraceArgs {
  /** Trace files (absolute, or relative to the first workspace folder); default: an open dialog. */
  files?: string[];
  /** The workspace folder to scaffold (absolute, or relative to the first workspace folder); default: asked. */
  scaffold?: string;
  format?: TraceFormat | 'auto';
}

export type ImportTraceCommandResult =
  | { ran: true; runDir: string; runId: string; systemFile: string }
  | { ran: false; reason: 'untrusted' | 'cancelled-by-user' | 'cancelled' | 'error'; error?: string };

/** The `agentchord.importTrace` command: a file's context menu passes its Uri, tests and other callers arguments. */
export function importTraceCommand(deps: CommandDeps, arg?: ImportTraceArgs | vscode.Uri): Promise<ImportTraceCommandResult> {
  return importTrace(deps, arg instanceof vscode.Uri ? { files: [arg.fsPath] } : (arg ?? {}));
}

/**
 * Reads a trace export (core: src/core/trace/importTrace.ts) into a new workspace folder (agentchord.yaml, one prompt
 * file per agent, the traces as data) with the run in its .agentchord/runs, so the imported system shows up in the
 * AgentChord view, its prompt files get CodeLens and Attribute Last Run works on it; then opens the run's graph.
 */
async function importTrace(deps: CommandDeps, args: ImportTraceArgs): Promise<ImportTraceCommandResult> {
  const { ctx, systems, runs, jobs } = deps;
  if (!requireTrust(TITLE, 'it writes a new system and a run folder into this workspace')) return { ran: false, reason: 'untrusted' };
  const root = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;

  const files = args.files ?? (await pickTraceFiles(root));
  if (!files?.length) return { ran: false, reason: 'cancelled-by-user' };
  const scaffold = args.scaffold !== undefined ? absolute(args.scaffold, root) : await chooseDestination(root, files[0]!);
  if (scaffold instanceof Error) return failed(ctx, scaffold);
  if (!scaffold) return { ran: false, reason: 'cancelled-by-user' };

  const job: { signal?: AbortSignal } = {};
  // The extension writes this run: RunStore's watcher leaves onRunFinished to fireRunFinished below (fired once).
  const local = runs.trackLocalRun(join(scaffold, SYSTEM_FILE_NAME));
  try {
    const { importTrace: runImport } = await import('../../core/trace/importTrace');
    const result: ImportTraceResult = await jobs.run(TITLE, (signal, report) => {
      job.signal = signal;
      report(`reading ${files.length === 1 ? basename(files[0]!) : `${files.length} files`}`);
      return runImport({
        files,
        format: args.format ?? 'auto',
        scaffold,
        attributionModel: embeddedAttributionModel(ctx),
        ...(root ? { cwd: root } : {}),
        signal,
      });
    });
    // importTrace always returns the scaffold when given one; the fallback keeps a type-level gap from crashing.
    const systemFile = result.scaffold?.systemFile ?? join(scaffold, SYSTEM_FILE_NAME);
    const summary = importSummary(result, root ? shownPath(root, scaffold) : scaffold);
    ctx.log.info(`${TITLE}: ${summary} Run folder: ${result.runDir}`);
    for (const w of result.warnings) ctx.log.warn(`${TITLE}: ${w}`);
    runs.fireRunFinished(result.runDir);
    // The file watcher may report the new folder late (or fold its files into one event): rescan so the system is
    // listed, validated and has CodeLens by the time the user looks.
    await systems.scan().catch((err) => ctx.log.error(`${TITLE}: rescanning the workspace failed`, err));
    void vscode.window.showInformationMessage(`AgentChord: ${summary}`, 'Open System File').then((choice) => {
      if (choice) void vscode.window.showTextDocument(vscode.Uri.file(systemFile), { preview: false });
    });
    try {
      await openGraph(ctx, { systemFile, runId: result.runId });
    } catch (err) {
      // The import itself succeeded: a graph that cannot open is reported, not turned into a failed import.
      ctx.log.error(`${TITLE}: opening the graph of ${result.runDir} failed`, err);
    }
    return { ran: true, runDir: result.runDir, runId: result.runId, systemFile };
  } catch (err) {
    if (job.signal?.aborted) {
      ctx.log.info(`${TITLE}: cancelled; no run folder was written`);
      void vscode.window.showInformationMessage(`AgentChord: ${TITLE} cancelled; no run folder was written.`);
      return { ran: false, reason: 'cancelled' };
    }
    return failed(ctx, err);
  } finally {
    local.dispose();
  }
}

/** Shows and logs a failure. TraceError messages already name the file, line or span: shown as they are. */
function failed(ctx: Ctx, err: unknown): ImportTraceCommandResult {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TraceError) ctx.log.error(`${TITLE}: ${message}`);
  else ctx.log.error(`${TITLE} failed`, err); // unexpected (a file system error...): keep the stack in the log
  void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: ${message}`);
  return { ran: false, reason: 'error', error: message };
}

async function pickTraceFiles(root: string | undefined): Promise<string[] | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: true,
    canSelectFiles: true,
    canSelectFolders: false,
    ...(root ? { defaultUri: vscode.Uri.file(root) } : {}),
    filters: { 'Trace exports': ['json', 'jsonl'], 'All files': ['*'] },
    openLabel: 'Import',
    title: 'AgentChord: Import Trace — OTLP/JSON or OpenInference exports (log records may be in a file of their own)',
  });
  return picked?.map((u) => u.fsPath);
}

/**
 * The folder to scaffold: asked, defaulting to `traces/<trace name>` under the first workspace folder (the first
 * free `-2`, `-3`, … when taken); without a workspace folder, a folder picker chooses the parent.
 */
async function chooseDestination(root: string | undefined, traceFile: string): Promise<string | undefined> {
  if (!root) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Import Here',
      title: 'AgentChord: Import Trace — choose the folder to create the imported system in',
    });
    const parent = picked?.[0]?.fsPath;
    return parent ? defaultImportFolder(parent, traceFile, existsSync) : undefined;
  }
  const suggested = defaultImportFolder(join(root, IMPORT_FOLDER), traceFile, existsSync);
  const answer = await vscode.window.showInputBox({
    title: 'AgentChord: Import Trace',
    prompt: `Folder for the imported system (agentchord.yaml, prompts, data and the run), relative to ${basename(root)}`,
    value: shownPath(root, suggested),
    validateInput: (value) => {
      const trimmed = value.trim();
      if (!trimmed) return 'Enter a folder.';
      if (existsSync(join(resolve(root, trimmed), SYSTEM_FILE_NAME))) return `${trimmed} already holds a system (${SYSTEM_FILE_NAME}); choose a new folder.`;
      return undefined;
    },
  });
  return answer?.trim() ? resolve(root, answer.trim()) : undefined;
}

/** An absolute path, or the error to show when a relative one has no workspace folder to be relative to. */
function absolute(path: string, root: string | undefined): string | Error {
  if (isAbsolute(path)) return path;
  if (!root) return new Error(`the folder '${path}' is relative but no workspace folder is open; give an absolute path.`);
  return resolve(root, path);
}

/** `path` relative to the workspace folder when inside it (as the user typed it), else absolute. */
function shownPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * The scaffold's attribution model: the chord-retrieval model packaged with the extension (models/ ships in the
 * VSIX). Missing (a trimmed build), the scaffold leaves attribution.model for the user to fill in.
 */
function embeddedAttributionModel(ctx: Ctx): string | undefined {
  const dir = join(ctx.extension.extensionPath, 'models', 'chord-retrieval');
  if (existsSync(join(dir, 'config.json'))) return dir;
  ctx.log.warn(`${TITLE}: ${dir} is missing: the imported system gets no attribution model (set attribution.model in its ${SYSTEM_FILE_NAME})`);
  return undefined;
}
