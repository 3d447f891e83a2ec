import * as vscode from 'vscode';
import type { Problem } from '../core/system';
import type { Ctx } from './ctx';
import { openDocument } from './fileHost';
import type { SystemWorkspace } from './systemWorkspace';

/**
 * Shows the loader's problems in the Problems panel for every system file open in an editor tab, as you type.
 * A closed system file has no diagnostics (like the TypeScript and ESLint extensions), and a fixed one clears.
 * "Open" means "has a tab": VS Code disposes a closed document (onDidCloseTextDocument) only minutes later.
 */
export class SystemDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('agentchord');

  constructor(
    ctx: Ctx,
    private readonly systems: SystemWorkspace,
  ) {
    ctx.own(systems.onDidChange(() => this.render()));
    // Opening or closing a tab changes what is shown, whether or not the file is re-validated.
    ctx.own(vscode.window.tabGroups.onDidChangeTabs(() => this.render()));
    ctx.own(vscode.workspace.onDidCloseTextDocument(() => this.render()));
  }

  /** Rebuilds the collection from the current results (few systems, few problems: simpler than diffing). */
  render(): void {
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const entry of this.systems.list()) {
      if (!hasEditorTab(entry.file)) continue;
      for (const problem of entry.result.problems) {
        const list = byFile.get(problem.file) ?? [];
        list.push(toDiagnostic(problem));
        byFile.set(problem.file, list);
      }
    }
    this.collection.clear();
    for (const [file, diagnostics] of byFile) this.collection.set(vscode.Uri.file(file), diagnostics);
  }

  dispose(): void {
    this.collection.dispose();
  }
}

/** Whether a file is open in an editor tab (text or either side of a diff) in any editor group. */
export function hasEditorTab(file: string): boolean {
  return vscode.window.tabGroups.all.some((group) =>
    group.tabs.some(({ input }) => {
      if (input instanceof vscode.TabInputText) return input.uri.fsPath === file;
      if (input instanceof vscode.TabInputTextDiff) return input.modified.fsPath === file || input.original.fsPath === file;
      return false;
    }),
  );
}

/** Core problems are 1-based [start, end); VS Code ranges are 0-based. No end known: underline to the line's end. */
export function toDiagnostic(problem: Problem): vscode.Diagnostic {
  const start = new vscode.Position(Math.max(problem.line - 1, 0), Math.max(problem.column - 1, 0));
  let end: vscode.Position;
  if (problem.endLine !== undefined && problem.endColumn !== undefined) {
    end = new vscode.Position(Math.max(problem.endLine - 1, 0), Math.max(problem.endColumn - 1, 0));
  } else {
    const doc = openDocument(problem.file);
    end = doc && start.line < doc.lineCount ? doc.lineAt(start.line).range.end : start;
  }
  const severity = problem.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error;
  const diagnostic = new vscode.Diagnostic(new vscode.Range(start, end.isBefore(start) ? start : end), problem.message, severity);
  diagnostic.source = 'agentchord';
  return diagnostic;
}
