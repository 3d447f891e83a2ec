import * as vscode from 'vscode';

/**
 * Workspace trust: in Restricted Mode tool modules, environment modules, model endpoints and the backend never run,
 * and nothing is written into the workspace (validation and viewing runs still work). Commands that would do either
 * call this first.
 * Returns true when the workspace is trusted; otherwise explains why `what` does not run and offers to manage trust.
 */
export function requireTrust(what: string, why = "it would run this workspace's tool and environment modules, call model endpoints and start the attribution backend"): boolean {
  if (vscode.workspace.isTrusted) return true;
  const message = `AgentChord: ${what} does not run in Restricted Mode: ${why}. Trust the workspace to use it.`;
  void vscode.window.showWarningMessage(message, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
