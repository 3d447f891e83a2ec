import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { FileHost } from '../core/system';
import { fileKindOnDisk, readCheckedText, realPathOnDisk } from '../core/system/files';

/**
 * What the core loader sees as "the files": an open document counts as existing even before it is first saved
 * (an untitled-then-saved prompt, a file restored from the editor's hot exit), then the disk.
 */
export const workspaceFileHost: FileHost = {
  exists(absolutePath: string): boolean {
    return openDocument(absolutePath) !== undefined || existsSync(absolutePath);
  },
  kind: (absolutePath) => (openDocument(absolutePath) ? 'file' : fileKindOnDisk(absolutePath)),
  realPath: realPathOnDisk,
  // The prompt as the user sees it: unsaved edits count, as they do for the system file itself.
  readText: (absolutePath) => openDocument(absolutePath)?.getText() ?? readCheckedText(absolutePath),
};

/** The open (possibly unsaved) document for a file path, if any. */
export function openDocument(absolutePath: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === absolutePath && !d.isClosed);
}

/** The text the user sees: the open document's (unsaved) text, else the file on disk. */
export async function currentText(absolutePath: string): Promise<string> {
  const doc = openDocument(absolutePath);
  if (doc) return doc.getText();
  const bytes = await vscode.workspace.fs.readFile(vscode.Uri.file(absolutePath));
  return new TextDecoder('utf-8').decode(bytes);
}
