// Shared by the extension-host suites: reaching the running extension, waiting for asynchronous effects, editing.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AgentChordApi } from '../../../src/extension/api';

export const EXTENSION_ID = 'agentchord.agentchord';

/** Polls until `probe` returns something truthy (validation is debounced and file watchers are asynchronous). */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | null | false;
  while (Date.now() < deadline) {
    last = probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The running extension's API; it must have activated by itself (workspaceContains:**\/agentchord.yaml). */
export async function extensionApi(): Promise<AgentChordApi> {
  const ext = vscode.extensions.getExtension<AgentChordApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this extension host`);
  await waitFor('the extension to activate', () => ext.isActive, 30_000);
  await ext.exports.ready;
  return ext.exports;
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need a workspace folder (the fixture workspace copy)');
  return folder.uri.fsPath;
}

/** Replaces the first occurrence of `search` in an open document, unsaved, as a user typing would. */
export async function replaceInDocument(doc: vscode.TextDocument, search: string, replacement: string): Promise<vscode.Range> {
  const offset = doc.getText().indexOf(search);
  assert.ok(offset >= 0, `'${search}' not found in ${doc.uri.fsPath}`);
  const range = new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + search.length));
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, range, replacement);
  assert.ok(await vscode.workspace.applyEdit(edit), 'applyEdit was refused');
  return new vscode.Range(range.start, doc.positionAt(offset + replacement.length));
}

/** Diagnostics AgentChord published for a file. */
export function agentchordDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'agentchord');
}

/** Throws away unsaved edits and closes every editor, so the next test starts from the files on disk. */
export async function revertAndCloseAll(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments) {
    if (doc.isDirty) {
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
