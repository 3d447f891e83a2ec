import * as vscode from 'vscode';
import type { BackendClient } from '../../core/backend/client';
import { remoteModels } from '../../core/backend/remoteModels';
import type { AgentCall } from '../../core/engine/types';
import type { Ctx } from '../ctx';
import type { RunStore } from '../runs/runStore';
import type { SystemWorkspace } from '../systemWorkspace';
import { requireTrust } from '../trust';
import { GRANULARITIES, type Granularity } from '../pure/saliency/aggregate';
import { callSaliency, callText, type CallSaliency } from '../pure/saliency/callSaliency';
import { GRANULARITY_SETTING, type ShowCallInputArgs } from '../pure/saliency/commands';
import { SaliencyDecorator } from './decorator';
import { computePromptSaliency } from '../pure/saliency/promptSaliency';
import { parseTraceUri, TRACE_SCHEME, TraceDocuments, traceUri } from './traceDocuments';

/** Where prompt-file saliency gets the backend process (the extension's BackendService). */
export interface BackendSource {
  ensureReady(): Promise<BackendClient>;
}

/** Arguments of "Show Token Saliency" that skip its pickers (tests, other commands). */
export interface ShowTokenSaliencyArgs {
  /** The document to decorate (default: the active editor's). */
  uri?: vscode.Uri;
  /** The call to use: on a trace, the call to open; on a prompt file, the sample (a call of its agent). */
  callId?: string;
}

/** Token saliency in the editor: trace documents, prompt files, hovers, granularity. */
export class TokenSaliency {
  constructor(
    private readonly ctx: Ctx,
    private readonly systems: SystemWorkspace,
    private readonly runs: RunStore,
    readonly traces: TraceDocuments,
    readonly decorator: SaliencyDecorator,
    private readonly backend: BackendSource | undefined,
  ) {}

  /** Removes the saliency colouring of the active editor (the `agentchord.clearTokenSaliency` command). */
  clearActiveEditor(): void {
    const uri = vscode.window.activeTextEditor?.document.uri;
    if (uri) this.decorator.clear(uri);
  }

  /** Opens a call's input (or output) as a read-only document with its token saliency. Returns the document's URI. */
  async showCallInput(args: ShowCallInputArgs): Promise<vscode.Uri | undefined> {
    if (!args?.runDir || !args.callId) throw new Error('agentchord.showCallInput needs { runDir, callId }');
    const part = args.part ?? 'input';
    const run = this.traces.run(args.runDir);
    const call = run.calls.find((c) => c.id === args.callId);
    if (!call) throw new Error(`${args.runDir}: no call ${args.callId} in calls.jsonl`);
    const uri = traceUri({ runDir: args.runDir, callId: call.id, part });
    const saliency = this.setTrace(uri, call, run.attribution.find((a) => a.callId === call.id));
    const editor = await vscode.window.showTextDocument(uri, { preview: true });
    this.decorator.apply(editor);
    if (saliency?.missing) void vscode.window.showInformationMessage(`AgentChord: no token saliency for ${call.agent} in ${call.sampleId}: ${saliency.missing}.`);
    return uri;
  }

  /** "Show Token Saliency": on a trace, pick another call of its run; on a prompt file, pick a sample and compute. */
  async showTokenSaliency(args: ShowTokenSaliencyArgs = {}): Promise<vscode.Uri | undefined> {
    const uri = args.uri ?? vscode.window.activeTextEditor?.document.uri;
    const trace = uri && parseTraceUri(uri);
    if (trace) {
      const callId = args.callId ?? (await this.pickCall(trace.runDir, this.traces.run(trace.runDir).calls, 'Show the token saliency of which call?'));
      return callId ? this.showCallInput({ runDir: trace.runDir, callId, part: trace.part }) : undefined;
    }
    const owner = uri?.scheme === 'file' ? this.promptOwner(uri.fsPath) : undefined;
    if (uri && owner) return this.showPromptSaliency(uri, owner.systemFile, owner.agent, args.callId);
    // Anywhere else: a call of the newest run of any system.
    const latest = this.runs.latestOf(this.systems.list().map((s) => s.file), true);
    if (!latest) {
      void vscode.window.showInformationMessage('AgentChord: no finished run yet. Run a system first, then show its token saliency.');
      return undefined;
    }
    const callId = args.callId ?? (await this.pickCall(latest.dir, this.traces.run(latest.dir).calls, 'Show the token saliency of which call?'));
    return callId ? this.showCallInput({ runDir: latest.dir, callId }) : undefined;
  }

  /** Saliency of a prompt file's own tokens for one sample, drawn on the file (never modified). */
  private async showPromptSaliency(uri: vscode.Uri, systemFile: string, agent: string, callId?: string): Promise<vscode.Uri | undefined> {
    const system = this.systems.get(systemFile)?.result.system;
    const run = this.runs.latest(systemFile, true);
    if (!system || !run) {
      void vscode.window.showInformationMessage(`AgentChord: ${agent} has no finished run yet: run its system first, then pick a sample.`);
      return undefined;
    }
    const calls = this.traces.run(run.dir).calls.filter((c) => c.agent === agent);
    const chosen = callId ?? (await this.pickCall(run.dir, calls, `Token saliency of ${agent}'s prompt for which sample?`));
    const call = calls.find((c) => c.id === chosen);
    if (!call) return undefined;
    const modelName = system.attribution.model;
    const model = modelName ? system.models[modelName] : undefined;
    if (!modelName || model?.kind !== 'local') {
      void vscode.window.showErrorMessage(`AgentChord: ${systemFile}: token saliency needs attribution.model naming a model with provider: local.`);
      return undefined;
    }
    if (!this.backend) throw new Error('the attribution backend is not available in this window');
    if (!requireTrust('Token saliency of a prompt')) return undefined;
    const document = await vscode.workspace.openTextDocument(uri);
    const text = document.getText();
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `AgentChord: token saliency of ${agent}'s prompt (${call.sampleId})`, cancellable: true },
      async (_progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const client = await this.backend!.ensureReady();
        const attributionModel = await remoteModels(client).model(model.path, model.device, abort.signal);
        return computePromptSaliency(attributionModel, call, text, abort.signal);
      },
    );
    this.ctx.log.info(`prompt saliency of ${agent} for ${call.sampleId}: ${result.tokens.length}/${result.promptTokens} prompt tokens placed`);
    this.decorator.set(uri, text, result.tokens, `prompt of ${agent}, sample ${call.sampleId} (log p = ${result.logProb.toFixed(2)})`);
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    this.decorator.apply(editor);
    return uri;
  }

  /** Puts a trace document's saliency in the decorator (drawn when its editor shows). */
  setTrace(uri: vscode.Uri, call: AgentCall, attribution: Parameters<typeof callSaliency>[1]): CallSaliency | undefined {
    const ref = parseTraceUri(uri);
    if (!ref) return undefined;
    const s = callSaliency(call, attribution);
    this.decorator.set(uri, callText(call, ref.part), ref.part === 'input' ? s.input : s.output, `call ${call.id}`);
    return s;
  }

  /** A run folder changed (finished, re-attributed): re-read it and redraw its open traces. */
  refreshRun(runDir: string): void {
    this.traces.refresh(runDir);
    for (const doc of vscode.workspace.textDocuments) {
      const ref = parseTraceUri(doc.uri);
      if (ref?.runDir !== runDir) continue;
      try {
        const run = this.traces.run(runDir);
        const call = run.calls.find((c) => c.id === ref.callId);
        if (call) this.setTrace(doc.uri, call, run.attribution.find((a) => a.callId === call.id));
      } catch (err) {
        this.ctx.log.warn(`re-reading ${runDir} for its trace documents failed: ${(err as Error).message}`);
      }
    }
  }

  private promptOwner(file: string): { systemFile: string; agent: string } | undefined {
    for (const entry of this.systems.list()) {
      const agent = entry.result.system?.agents.find((a) => a.promptFile === file);
      if (agent) return { systemFile: entry.file, agent: agent.name };
    }
    return undefined;
  }

  private async pickCall(runDir: string, calls: readonly AgentCall[], title: string): Promise<string | undefined> {
    const attribution = this.traces.run(runDir).attribution;
    const items = calls.map((c) => {
      const a = attribution.find((x) => x.callId === c.id);
      return { label: `${c.agent} · ${c.sampleId}`, description: a?.tokens ? `${a.tokens.pieces.length} tokens` : (a?.status ?? 'no attribution'), detail: c.output.slice(0, 120), callId: c.id };
    });
    return (await vscode.window.showQuickPick(items, { title: `AgentChord: ${title}`, matchOnDescription: true }))?.callId;
  }
}

export function registerSaliency(ctx: Ctx, systems: SystemWorkspace, runs: RunStore, backend?: BackendSource): TokenSaliency {
  const traces = ctx.own(new TraceDocuments());
  const decorator = ctx.own(new SaliencyDecorator());
  const saliency = new TokenSaliency(ctx, systems, runs, traces, decorator, backend);
  ctx.own(vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, traces));
  const hover = { provideHover: (doc: vscode.TextDocument, pos: vscode.Position) => decorator.hover(doc, pos) };
  ctx.own(vscode.languages.registerHoverProvider([{ scheme: TRACE_SCHEME }, { scheme: 'file' }], hover));
  // Decorations belong to an editor: a document shown again (another tab, split) is drawn again.
  ctx.own(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.filter((e) => decorator.has(e.document.uri)).forEach((e) => decorator.apply(e))));
  // A prompt file's saliency is about the text it was computed on: typing makes the offsets wrong, so it goes.
  ctx.own(
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme === 'file' && e.contentChanges.length > 0) decorator.clear(e.document.uri);
    }),
  );
  ctx.own(vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(GRANULARITY_SETTING) && decorator.applyVisible()));
  ctx.own(runs.onRunFinished((runDir) => saliency.refreshRun(runDir)));
  return saliency;
}

/** Sets the grouping of token saliency (user setting); every decorated editor redraws on the change. */
export async function chooseGranularity(value?: Granularity): Promise<void> {
  const chosen =
    value ??
    (
      await vscode.window.showQuickPick(
        GRANULARITIES.map((g) => ({ label: g, description: g === 'token' ? 'each model token' : `mean over each ${g}` })),
        { title: 'AgentChord: colour token saliency by' },
      )
    )?.label;
  if (!chosen) return;
  if (!(GRANULARITIES as readonly string[]).includes(chosen)) throw new Error(`${GRANULARITY_SETTING}: '${chosen}' is not one of ${GRANULARITIES.join(', ')}`);
  await vscode.workspace.getConfiguration().update(GRANULARITY_SETTING, chosen, vscode.ConfigurationTarget.Global);
}
