/**
 * The "AgentChord: Graph" webview panel (host side). It owns the user's selection (system, run, sample, mode,
 * comparison), builds the view model (./viewModel.ts) and posts it whole as `state`; the webview (webview/) draws it
 * and sends back typed messages (src/protocol/webview.ts).
 *
 * Hidden panels are not kept alive (retainContextWhenHidden is off, cheaper): when shown again the webview redraws
 * from its saved state and says `ready`, and the host re-sends a fresh `state`. The same saved state revives the
 * panel after a reload (GraphPanelSerializer).
 */
import * as vscode from 'vscode';
import { formatProblem, loadSystemFile, type SystemConfig } from '../../core/system';
import { isGraphViewModel, isWebviewMessage, message, type GraphMode, type GraphViewModel, type HighlightMessage, type StateMessage, type WebviewMessage } from '../../protocol/webview';
import type { Ctx } from '../ctx';
import { buildGraphHtml, newNonce } from '../pure/graph/html';
import { findCallFor, loadGraphRunData } from '../pure/graph/runData';
import { buildGraphViewModel, LOSS_NODE } from '../pure/graph/viewModel';
import { COMMANDS } from '../commandIds';

export const GRAPH_VIEW_TYPE = 'agentchord.graph';

/** What the panel shows; restored from the webview's saved view model after a reload. */
export interface GraphSelection {
  systemFile: string;
  mode: GraphMode;
  runId?: string;
  sampleId?: string;
  compare?: { a: string; b: string };
  /** An agent to highlight once drawn (e.g. from a prompt file's CodeLens). */
  focusAgent?: string;
}

/** What the extension-host tests can observe (the agentchord.graph.probe command). */
export interface GraphPanelProbe {
  open: boolean;
  state?: GraphViewModel;
  /** `state` messages the webview accepted (postMessage resolved true). */
  delivered: number;
  /** `ready` messages received from the webview. */
  readies: number;
}

export class GraphPanel implements vscode.Disposable {
  /** One graph panel at a time: opening another system's graph reuses it. */
  static current: GraphPanel | undefined;

  private state: GraphViewModel | undefined;
  private runDir: string | undefined;
  private system: SystemConfig | undefined;
  private delivered = 0;
  private readies = 0;
  private disposed = false;
  /** Rebuilds are chained so a slow layout cannot overwrite a newer selection's state. */
  private refreshing: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[] = [];

  /** Shows the panel (reusing the open one); what `selection` leaves out keeps its current value, or the default. */
  static show(ctx: Ctx, selection: Partial<GraphSelection> & { systemFile: string }): GraphPanel {
    const existing = GraphPanel.current;
    if (existing) {
      existing.panel.reveal();
      existing.select(selection);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, 'AgentChord Graph', vscode.ViewColumn.Beside, webviewOptions(ctx));
    return (GraphPanel.current = new GraphPanel(ctx, panel, { mode: 'full', ...selection }));
  }

  /** Recreates a panel VS Code restored after a reload, from the state its webview saved. */
  static revive(ctx: Ctx, panel: vscode.WebviewPanel, saved: unknown): GraphPanel | undefined {
    const model = (saved as { model?: unknown } | undefined)?.model;
    if (!isGraphViewModel(model)) {
      panel.dispose(); // nothing usable was saved: better no panel than an empty one
      return undefined;
    }
    panel.webview.options = webviewOptions(ctx);
    GraphPanel.current?.dispose();
    return (GraphPanel.current = new GraphPanel(ctx, panel, selectionOf(model)));
  }

  private constructor(
    private readonly ctx: Ctx,
    readonly panel: vscode.WebviewPanel,
    private selection: GraphSelection,
  ) {
    const { webview } = panel;
    const dist = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist');
    webview.html = buildGraphHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      title: 'AgentChord Graph',
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    void this.refresh();
  }

  probe(): GraphPanelProbe {
    return { open: true, ...(this.state ? { state: this.state } : {}), delivered: this.delivered, readies: this.readies };
  }

  select(patch: Partial<GraphSelection>): void {
    const next = { ...this.selection, ...patch };
    if (patch.systemFile && patch.systemFile !== this.selection.systemFile) {
      // Another system: its runs and samples are not this one's.
      delete next.runId;
      delete next.sampleId;
      delete next.compare;
    }
    this.selection = next;
    void this.refresh();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (GraphPanel.current === this) GraphPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private onMessage(raw: unknown): void {
    if (!isWebviewMessage(raw)) {
      this.ctx.log.warn(`graph panel: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const m: WebviewMessage = raw;
    switch (m.method) {
      case 'ready':
        this.readies++;
        void this.refresh(); // new runs may have appeared while the panel was hidden
        break;
      case 'selectRun':
        this.select({ runId: m.params.runId, sampleId: undefined, compare: undefined });
        break;
      case 'selectSample':
        // Picking a sample means "show me its graph": the agent graph summarises the whole run instead.
        this.select({ sampleId: m.params.sampleId, mode: 'topk' });
        break;
      case 'toggleMode':
        this.select({ mode: m.params.mode });
        break;
      case 'compareRuns':
        this.select({ compare: { a: m.params.a, b: m.params.b } });
        break;
      case 'openAgentPrompt':
        void this.openAgentPrompt(m.params.agent);
        break;
      case 'openEdgeInput':
        void this.openEdgeInput(m.params);
        break;
    }
  }

  private refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.rebuild()).catch((err) => {
      this.ctx.log.error('graph panel: building the graph failed', err);
      void vscode.window.showErrorMessage(`AgentChord: could not build the graph: ${err instanceof Error ? err.message : String(err)}`);
    });
    return this.refreshing;
  }

  private async rebuild(): Promise<void> {
    if (this.disposed) return;
    const { systemFile } = this.selection;
    const loaded = loadSystemFile(systemFile);
    if (!loaded.system) {
      const first = loaded.problems.find((p) => p.severity === 'error');
      throw new Error(first ? formatProblem(first) : `${systemFile}: could not be loaded`);
    }
    const system = loaded.system;
    const data = loadGraphRunData(system, { runId: this.selection.runId, compare: this.selection.compare });
    for (const problem of data.unreadable) this.ctx.log.warn(`graph panel: ${problem}`);
    const state = await buildGraphViewModel(system, data, { mode: this.selection.mode, sampleId: this.selection.sampleId });
    this.system = system;
    this.runDir = data.runDir;
    this.state = state;
    if (this.disposed) return; // closed while the layout ran
    this.panel.title = `Graph: ${system.name}`;
    if (await this.panel.webview.postMessage(message<StateMessage>('state', state))) this.delivered++;
    const focus = this.selection.focusAgent;
    if (focus) {
      const nodes = state.nodes.filter((n) => n.agent === focus).map((n) => n.id);
      const edges = state.edges.filter((e) => nodes.includes(e.from) || nodes.includes(e.to)).map((e) => e.id);
      await this.panel.webview.postMessage(message<HighlightMessage>('highlight', { nodes, edges }));
    }
  }

  private async openAgentPrompt(agentName: string): Promise<void> {
    const agent = this.system?.agents.find((a) => a.name === agentName);
    if (!agent) {
      void vscode.window.showWarningMessage(`AgentChord: agent "${agentName}" is not in ${this.selection.systemFile} any more.`);
      return;
    }
    const column = this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
    await vscode.window.showTextDocument(vscode.Uri.file(agent.promptFile), { viewColumn: column, preview: false });
  }

  private async openEdgeInput(params: { callId: string } | { from: string; to: string }): Promise<void> {
    const runDir = this.runDir;
    if (!runDir) {
      void vscode.window.showInformationMessage('AgentChord: no run yet, so there is no recorded input to show. Run the system first.');
      return;
    }
    const callId = 'callId' in params ? params.callId : findCallFor(runDir, params.from, params.to, this.state?.sampleId);
    if (!callId) {
      const why = 'to' in params && params.to === LOSS_NODE ? 'this edge leads to the loss, not into an agent' : 'no call in this run received that input';
      void vscode.window.showInformationMessage(`AgentChord: nothing to open: ${why}.`);
      return;
    }
    const commands = await vscode.commands.getCommands(true);
    if (!commands.includes(COMMANDS.showCallInput)) {
      void vscode.window.showInformationMessage(`AgentChord: call ${callId} (run folder ${runDir}): the input viewer is not available in this version.`);
      return;
    }
    await vscode.commands.executeCommand(COMMANDS.showCallInput, { runDir, callId });
  }
}

/** Scripts on; local files only from dist/ (the bundle) and media/. */
function webviewOptions(ctx: Ctx): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  const root = ctx.extension.extensionUri;
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
  };
}

function selectionOf(model: GraphViewModel): GraphSelection {
  return {
    systemFile: model.system.file,
    mode: model.mode,
    ...(model.runId ? { runId: model.runId } : {}),
    ...(model.sampleId ? { sampleId: model.sampleId } : {}),
    ...(model.comparison ? { compare: { a: model.comparison.a, b: model.comparison.b } } : {}),
  };
}

