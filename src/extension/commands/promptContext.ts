import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import type { SystemWorkspace } from '../systemWorkspace';
import { ownedFiles, systemsOwning } from './target';

/**
 * Context keys for the menus: `agentchord.isPromptFile` (the active editor shows a system file or a prompt file a
 * system names) and `agentchord.promptFiles` (all such paths, for `resourcePath in agentchord.promptFiles` in the
 * explorer). Kept current from SystemWorkspace and the active editor.
 */
export function registerPromptContext(ctx: Ctx, systems: SystemWorkspace): void {
  const update = () => {
    const doc = vscode.window.activeTextEditor?.document;
    const isPrompt = doc?.uri.scheme === 'file' && systemsOwning(systems, doc.uri.fsPath).length > 0;
    void vscode.commands.executeCommand('setContext', 'agentchord.isPromptFile', isPrompt);
    void vscode.commands.executeCommand('setContext', 'agentchord.promptFiles', ownedFiles(systems));
  };
  ctx.own(systems.onDidChange(update));
  ctx.own(vscode.window.onDidChangeActiveTextEditor(update));
  update();
}
