import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import type { RunStore } from '../runs/runStore';
import type { SystemWorkspace } from '../systemWorkspace';
import { lensTexts, summarizeAgents, type AgentRunSummary } from '../pure/codelens/agentSummary';
import { COMMANDS } from '../commandIds';

/**
 * Owned by the graph panel (src/extension/graph/): the lens passes `{ systemFile, runId, agent }` (the panel opens
 * that run; `agent` asks it to focus the agent).
 */

/** The agents whose prompt is a file, with the system (file) they belong to. */
interface PromptOwner {
  systemFile: string;
  agent: string;
}

/**
 * CodeLens at the top of every file a system names as a prompt (any extension): the agent's blame share in the
 * system's last finished run, its strongest incoming and outgoing connection weights, the trajectories through it
 * and the run's loss. Lenses come from cached run data only and always sit on line 0, so typing neither recomputes
 * nor moves them; they refresh when a run finishes or the systems change.
 */
export class PromptCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  /** Run folder -> agent summaries; a run folder does not change once finished, until its event says so. */
  private readonly cache = new Map<string, Map<string, AgentRunSummary>>();
  /** System file -> its last finished run folder (null: none), so providing lenses lists no folders while typing. */
  private readonly latestRun = new Map<string, string | null>();

  constructor(
    ctx: Ctx,
    private readonly systems: SystemWorkspace,
    private readonly runs: RunStore,
  ) {
    ctx.own(
      runs.onRunFinished((runDir) => {
        this.cache.delete(runDir);
        this.latestRun.clear();
        this.changed.fire();
      }),
    );
    // A run folder created or deleted may change which run is the latest (no lens event: onRunFinished follows).
    ctx.own(runs.onDidChange(() => this.latestRun.clear()));
    ctx.own(systems.onDidChange(() => this.changed.fire()));
  }

  /** The summary shown for an agent: from its system's last finished run, or undefined when it has none. */
  summaryFor(systemFile: string, agent: string): { runDir: string; summary: AgentRunSummary } | undefined {
    let runDir = this.latestRun.get(systemFile);
    if (runDir === undefined) {
      runDir = this.runs.latest(systemFile, true)?.dir ?? null;
      this.latestRun.set(systemFile, runDir);
    }
    if (!runDir) return undefined;
    let summaries = this.cache.get(runDir);
    if (!summaries) {
      const agents = this.systems.get(systemFile)?.result.system?.agents.map((a) => a.name) ?? [];
      summaries = summarizeAgents(this.runs.open(runDir).read(), agents);
      this.cache.set(runDir, summaries);
    }
    const summary = summaries.get(agent);
    return summary && { runDir, summary };
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (document.uri.scheme !== 'file') return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses: vscode.CodeLens[] = [];
    for (const owner of this.ownersOf(document.uri.fsPath)) {
      let found;
      try {
        found = this.summaryFor(owner.systemFile, owner.agent);
      } catch (err) {
        // A damaged run folder must not break the editor: say so in the log, show no lens.
        this.log(err);
        continue;
      }
      if (!found) continue;
      const { runDir, summary } = found;
      const trajectories = { command: COMMANDS.showAgentTrajectories, arguments: [{ runDir, agent: owner.agent }] };
      const graph = { command: COMMANDS.openGraph, arguments: [{ systemFile: owner.systemFile, runId: basename(runDir), agent: owner.agent }] };
      // Connections focus the agent in the graph; blame and loss list its trajectories.
      for (const lens of lensTexts(summary)) {
        const target = lens.kind === 'incoming' || lens.kind === 'outgoing' ? graph : trajectories;
        lenses.push(new vscode.CodeLens(top, { ...target, title: lens.title, tooltip: lens.tooltip }));
      }
    }
    return lenses;
  }

  /** Which agents of which systems use this file as their prompt. */
  ownersOf(file: string): PromptOwner[] {
    return this.systems.list().flatMap((entry) =>
      (entry.result.system?.agents ?? []).filter((a) => a.promptFile === file).map((a) => ({ systemFile: entry.file, agent: a.name })),
    );
  }

  private log(err: unknown): void {
    console.error('AgentChord: CodeLens could not read the run', err);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Registers the prompt-file CodeLens and the trajectories quick pick it opens. */
export function registerCodeLens(ctx: Ctx, systems: SystemWorkspace, runs: RunStore): PromptCodeLensProvider {
  const provider = ctx.own(new PromptCodeLensProvider(ctx, systems, runs));
  ctx.own(vscode.languages.registerCodeLensProvider({ scheme: 'file' }, provider));
  return provider;
}

/** A quick pick of the trajectories through an agent; picking one opens that agent's call input with its saliency. */
export async function showAgentTrajectories(runs: RunStore, runDir: string, agent: string): Promise<void> {
  const { trajectories, calls } = runs.open(runDir).read();
  const through = trajectories.filter((t) => t.agents.includes(agent));
  if (through.length === 0) {
    void vscode.window.showInformationMessage(`AgentChord: no trajectory of this run passes through ${agent}.`);
    return;
  }
  const items = through.map((t) => {
    const callId = t.path.find((id) => calls.some((c) => c.id === id && c.agent === agent));
    return { label: t.sampleId, description: t.agents.join(' → ') + ' → loss', detail: t.loss, callId };
  });
  const picked = await vscode.window.showQuickPick(items, { title: `AgentChord: trajectories through ${agent}`, matchOnDetail: true });
  if (picked?.callId) await vscode.commands.executeCommand(COMMANDS.showCallInput, { runDir, callId: picked.callId });
}
