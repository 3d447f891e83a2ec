/**
 * The attribution-graph feature of the extension: the `agentchord.openGraph` command, the panel serializer (the
 * panel survives a window reload), and a test probe. extension.ts registers the commands and calls
 * `registerGraphPanels(ctx)` once on activation.
 */
import { dirname, sep } from 'node:path';
import * as vscode from 'vscode';
import { SYSTEM_FILE_NAME } from '../../core/system';
import type { GraphMode } from '../../protocol/webview';
import type { Ctx } from '../ctx';
import { GRAPH_VIEW_TYPE, GraphPanel, type GraphPanelProbe } from './graphPanel';

export { GRAPH_VIEW_TYPE, GraphPanel } from './graphPanel';
export type { GraphPanelProbe, GraphSelection } from './graphPanel';


/**
 * What `agentchord.openGraph` accepts: nothing (the active editor's system, else a pick among the workspace's), a
 * system file as Uri or path, a Systems-view row (`{ entry: { file } }`), or a full selection.
 */
export type OpenGraphArgument =
  | undefined
  | vscode.Uri
  | string
  | { entry: { file: string } }
  | { systemFile: string; runId?: string; sampleId?: string; mode?: GraphMode; agent?: string };

/** Opens the graph panel on what `arg` names (the `agentchord.openGraph` command). */
export async function openGraph(ctx: Ctx, arg?: OpenGraphArgument): Promise<void> {
  const selection = await resolveSelection(arg);
  if (selection) GraphPanel.show(ctx, selection);
}

/** The open panel's last state (the `agentchord.graph.probe` test command). */
export function graphProbe(): GraphPanelProbe {
  return GraphPanel.current?.probe() ?? { open: false, delivered: 0, readies: 0 };
}

/** The panel serializer (a panel survives a window reload); the open panel is disposed with the extension. */
export function registerGraphPanels(ctx: Ctx): void {
  ctx.own(
    vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        GraphPanel.revive(ctx, panel, state);
      },
    }),
  );
  ctx.own({ dispose: () => GraphPanel.current?.dispose() });
}

async function resolveSelection(
  arg: OpenGraphArgument,
): Promise<{ systemFile: string; runId?: string; sampleId?: string; mode?: GraphMode; focusAgent?: string } | undefined> {
  if (arg instanceof vscode.Uri) return { systemFile: arg.fsPath };
  if (typeof arg === 'string') return { systemFile: arg };
  if (arg && 'systemFile' in arg) {
    const { agent, ...selection } = arg;
    return { ...selection, focusAgent: agent };
  }
  if (arg && 'entry' in arg) return { systemFile: arg.entry.file };

  const active = vscode.window.activeTextEditor?.document.uri;
  const candidates = (await vscode.workspace.findFiles(`**/${SYSTEM_FILE_NAME}`, '**/{node_modules,.git,dist,out,.agentchord}/**'))
    .map((u) => u.fsPath)
    .sort();
  // The system whose folder holds the active file (a prompt, the system file itself), the deepest one first.
  const owning = active?.scheme === 'file' ? candidates.filter((f) => active.fsPath.startsWith(dirname(f) + sep)).sort((a, b) => b.length - a.length)[0] : undefined;
  if (owning) return { systemFile: owning };
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`AgentChord: no ${SYSTEM_FILE_NAME} in this workspace. Create one with "AgentChord: New System".`);
    return undefined;
  }
  if (candidates.length === 1) return { systemFile: candidates[0]! };
  const picked = await vscode.window.showQuickPick(
    candidates.map((file) => ({ label: vscode.workspace.asRelativePath(file), file })),
    { placeHolder: 'Which system’s graph?' },
  );
  return picked ? { systemFile: picked.file } : undefined;
}
