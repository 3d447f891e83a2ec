import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { formatProblem, loadSystemFile, SYSTEM_FILE_NAME, type SystemConfig } from '../../core/system';
import { isSystemFile, systemLabel, type SystemEntry, type SystemWorkspace } from '../systemWorkspace';

/** The system files that own a file: itself when it is a system file, else the systems naming it as a prompt. */
export function systemsOwning(systems: SystemWorkspace, path: string): SystemEntry[] {
  if (isSystemFile(path)) return systems.list().filter((e) => e.file === path);
  return systems.list().filter((e) => e.result.system?.agents.some((a) => a.promptFile === path));
}

/** Every prompt file and system file the workspace's systems name (for the `agentchord.promptFiles` context key). */
export function ownedFiles(systems: SystemWorkspace): string[] {
  return systems.list().flatMap((e) => [e.file, ...(e.result.system?.agents.map((a) => a.promptFile) ?? [])]);
}

/**
 * The system a command acts on: the one owning `uri` (a system file, a prompt file or a folder holding a system),
 * else the one owning the active editor's file, else the only system of the workspace; a quick pick when several fit.
 * Loaded fresh from disk (the engine reads files from disk); problems are shown and give undefined.
 */
export async function chooseSystem(
  systems: SystemWorkspace,
  command: string,
  uri?: vscode.Uri | string,
  options: { askToSave?: boolean } = {},
): Promise<SystemConfig | undefined> {
  await systems.settled();
  const given = typeof uri === 'string' ? uri : uri?.fsPath;
  let candidates: SystemEntry[];
  if (given) {
    const path = existsSync(given) && statSync(given).isDirectory() ? join(given, SYSTEM_FILE_NAME) : given;
    candidates = systemsOwning(systems, path);
    if (candidates.length === 0 && isSystemFile(path) && existsSync(path)) candidates = [{ file: path, result: { problems: [] } }];
    if (candidates.length === 0) {
      void vscode.window.showErrorMessage(`AgentChord: ${command}: ${given} is not a system file or a prompt file of a system in this workspace.`);
      return undefined;
    }
  } else {
    const active = vscode.window.activeTextEditor?.document.uri;
    const owning = active?.scheme === 'file' ? systemsOwning(systems, active.fsPath) : [];
    candidates = owning.length ? owning : systems.list();
  }
  if (candidates.length === 0) {
    void vscode.window.showErrorMessage(`AgentChord: ${command}: no system (${SYSTEM_FILE_NAME}) in this workspace.`);
    return undefined;
  }
  let entry = candidates[0];
  if (candidates.length > 1) {
    const picked = await vscode.window.showQuickPick(
      candidates.map((e) => ({ label: systemLabel(e), description: vscode.workspace.asRelativePath(e.file), entry: e })),
      { title: `AgentChord: ${command} — which system?` },
    );
    if (!picked) return undefined;
    entry = picked.entry;
  }
  if (options.askToSave !== false && !(await saveOrAccept(entry, command))) return undefined;
  const { system, problems } = loadSystemFile(entry.file);
  if (!system) {
    const errors = problems.filter((p) => p.severity === 'error');
    const message = `AgentChord: ${command}: ${entry.file} has ${errors.length} error(s); fix them first (see the Problems panel). First: ${errors[0] ? formatProblem(errors[0]) : ''}`;
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
  return system;
}

/**
 * The engine reads the files on disk: when the system file or one of its prompts has unsaved edits, ask whether to
 * save them first or run the saved versions. Returns false when the user dismisses the question.
 */
async function saveOrAccept(entry: SystemEntry, command: string): Promise<boolean> {
  const files = new Set([entry.file, ...(entry.result.system?.agents.map((a) => a.promptFile) ?? [])]);
  const dirty = vscode.workspace.textDocuments.filter((d) => d.isDirty && d.uri.scheme === 'file' && files.has(d.uri.fsPath));
  if (dirty.length === 0) return true;
  const names = dirty.map((d) => vscode.workspace.asRelativePath(d.uri)).join(', ');
  const choice = await vscode.window.showWarningMessage(
    `AgentChord: ${command} reads the files on disk, and ${names} ${dirty.length === 1 ? 'has' : 'have'} unsaved changes.`,
    { modal: true },
    'Save and Continue',
    'Use Saved Versions',
  );
  if (choice === 'Save and Continue') {
    for (const doc of dirty) await doc.save();
    return true;
  }
  return choice === 'Use Saved Versions';
}
