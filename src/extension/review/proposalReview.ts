import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { RunFolder } from '../../core/engine/runFolder';
import type { Proposal } from '../../core/engine/types';
import { changedSinceProposal, planApply, type PlannedChange } from '../../core/optimizer/apply';
import type { Ctx } from '../ctx';
import { openDocument } from '../fileHost';
import type { RunStore } from '../runs/runStore';
import type { SystemWorkspace } from '../systemWorkspace';
import { proposalHunks, type Hunk } from '../pure/review/hunks';
import { reviewMarkdown } from '../pure/review/reviewDocument';
import { requireTrust } from '../trust';

export const REVIEW_SCHEME = 'agentchord-review';

/**
 * preview: the refactor preview (accept/reject per file and hunk; the default);
 * accept / reject: no preview, for tests and scripted use (accept applies the same edit without confirmation).
 */
export type ReviewMode = 'preview' | 'accept' | 'reject';

export interface ReviewOptions {
  mode?: ReviewMode;
}

export interface ReviewOutcome {
  /** applied: the edit was applied (all of it, or what the reviewer kept); dismissed: the preview was discarded. */
  status: 'applied' | 'dismissed' | 'rejected' | 'refused' | 'nothing-to-apply' | 'untrusted';
  /** Prompt files the edit touches. */
  files: string[];
  /** Why it was refused (files changed since the proposal, frozen regions). */
  reason?: string;
}

/** The edit a proposal becomes, with what it is made of (kept for the tests: metadata is not readable back). */
export interface ProposalEdit {
  runDir: string;
  step: number;
  edit: vscode.WorkspaceEdit;
  metadata?: vscode.WorkspaceEditEntryMetadata;
  hunks: Array<{ file: string; range: vscode.Range; text: string }>;
  /** The markdown document shown beside the preview. */
  explanation: vscode.Uri;
}

/** Serves the explanation documents (`agentchord-review:/<runId>/step-<n>.md?<runDir>`). */
class ReviewDocuments implements vscode.TextDocumentContentProvider {
  provideTextDocumentContent(uri: vscode.Uri): string {
    const step = Number(/step-(\d+)\.md$/.exec(uri.path)?.[1]);
    const proposal = RunFolder.open(uri.query)
      .read()
      .proposals.find((p) => p.step === step);
    if (!proposal) throw new Error(`${uri.query}: no proposal for step ${step}`);
    return reviewMarkdown(proposal, dirname(dirname(dirname(uri.query))));
  }
}

let last: ProposalEdit | undefined;

/** The edit built by the latest reviewProposal call (for the tests). */
export function lastProposalEdit(): ProposalEdit | undefined {
  return last;
}

/**
 * Reviews an optimizer proposal (run folder + step) as a WorkspaceEdit: by default in the refactor preview with
 * `needsConfirmation` (label "AgentChord: step N", the reasoning as description), the reasoning and the trajectories
 * beside it. Nothing touches a prompt file until the reviewer applies; refuses, touching nothing, when a change is not
 * to a prompt file the run's system allows (see whyNotApplicable), when a prompt file (on disk or its unsaved editor)
 * is no longer the text the proposal was made from, or when the proposal would lose a frozen region. Applying is one
 * undoable edit (Undo in each file reverts it).
 */
export async function reviewProposal(runDir: string, step: number, options: ReviewOptions = {}): Promise<ReviewOutcome> {
  const mode = options.mode ?? 'preview';
  const proposal = RunFolder.open(runDir)
    .read()
    .proposals.find((p) => p.step === step);
  const plan = planApply(runDir, step); // throws naming the run folder when the step has no proposal
  const files = plan.changes.map((c) => c.file);
  if (!proposal || plan.changes.length === 0) return { status: 'nothing-to-apply', files };
  if (mode === 'reject') return { status: 'rejected', files };

  const refusal = whyNotApplicable(plan.changes, plan.refused);
  if (refusal) {
    void vscode.window.showErrorMessage(`AgentChord: not applying step ${step}: ${refusal}`);
    return { status: 'refused', files, reason: refusal };
  }

  const built = await buildProposalEdit(runDir, proposal, plan.changes, mode === 'preview');
  last = built;
  if (mode === 'preview') {
    await vscode.window.showTextDocument(built.explanation, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  }
  const applied = await vscode.workspace.applyEdit(built.edit, { isRefactoring: true });
  return { status: applied ? 'applied' : 'dismissed', files };
}

/**
 * Why the proposal cannot be applied now, or undefined when it can. `refused` is the core's verdict (planApply's
 * refusedChanges, the same gate as `agentchord apply`: the run's system's own prompt files, inside its folder,
 * `optimize` not false, frozen regions kept); on top of it, every file must be inside a workspace folder and its
 * open editor, if any, must hold the text the proposal was made from.
 */
export function whyNotApplicable(changes: readonly PlannedChange[], refused: readonly string[]): string | undefined {
  if (refused.length) return `${refused.join('; ')}; nothing was changed.`;
  const outside = changes.filter((c) => !vscode.workspace.getWorkspaceFolder(vscode.Uri.file(c.file))).map((c) => c.file);
  if (outside.length) return `${outside.join(', ')} is not inside a folder of this workspace; nothing was changed.`;
  const stale = new Set(changedSinceProposal(changes));
  for (const c of changes) {
    const open = openDocument(c.file);
    if (open && open.getText() !== c.before) stale.add(c.file);
  }
  if (stale.size) {
    return `${[...stale].join(', ')} changed since the proposal was made (or is missing or has unsaved edits); nothing was changed. Re-run the optimization on the current prompts.`;
  }
  return undefined;
}

async function buildProposalEdit(runDir: string, proposal: Proposal, changes: readonly PlannedChange[], confirm: boolean): Promise<ProposalEdit> {
  const metadata: vscode.WorkspaceEditEntryMetadata | undefined = confirm
    ? {
        needsConfirmation: true,
        label: `AgentChord: step ${proposal.step}`,
        description: proposal.reasoning.replace(/\s+/g, ' ').trim().slice(0, 300),
        iconPath: new vscode.ThemeIcon('sparkle'),
      }
    : undefined;
  const edit = new vscode.WorkspaceEdit();
  const hunks: ProposalEdit['hunks'] = [];
  for (const change of changes) {
    const uri = vscode.Uri.file(change.file);
    const doc = await vscode.workspace.openTextDocument(uri);
    for (const h of proposalHunks(change.before, change.after)) {
      const range = toRange(doc, h);
      if (metadata) edit.replace(uri, range, h.text, metadata);
      else edit.replace(uri, range, h.text);
      hunks.push({ file: change.file, range, text: h.text });
    }
  }
  const runId = runDir.split(/[\\/]/).filter(Boolean).at(-1) ?? 'run';
  const explanation = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${runId}/step-${proposal.step}.md`, query: runDir });
  return { runDir, step: proposal.step, edit, ...(metadata ? { metadata } : {}), hunks, explanation };
}

function toRange(doc: vscode.TextDocument, h: Hunk): vscode.Range {
  return new vscode.Range(doc.positionAt(h.start), doc.positionAt(h.end));
}

export interface ReviewProposalArgs {
  runDir?: string;
  step?: number;
  mode?: ReviewMode;
}

/** The read-only documents beside a review (reasoning, trajectories). */
export function registerReviewDocuments(ctx: Ctx): void {
  ctx.own(vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, new ReviewDocuments()));
}

/** The `agentchord.reviewProposal` command: asks for the run and step unless given, then reviews. */
export async function reviewProposalCommand(ctx: Ctx, systems: SystemWorkspace, runs: RunStore, args: ReviewProposalArgs = {}): Promise<ReviewOutcome | undefined> {
  // A proposal could come from anyone who can write into the workspace: applying it is for trusted workspaces.
  if (!requireTrust('Review Proposal', "it writes this workspace's prompt files")) return { status: 'untrusted', files: [] };
  const runDir = args.runDir ?? (await pickRunWithProposals(runs, systems));
  if (!runDir) return undefined;
  const step = args.step ?? (await pickStep(runDir));
  if (step === undefined) return undefined;
  try {
    const outcome = await reviewProposal(runDir, step, { mode: args.mode });
    ctx.log.info(`review of ${runDir} step ${step}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    return outcome;
  } catch (err) {
    void vscode.window.showErrorMessage(`AgentChord: ${(err as Error).message}`);
    return undefined;
  }
}

async function pickRunWithProposals(runs: RunStore, systems: SystemWorkspace): Promise<string | undefined> {
  const items = systems
    .list()
    .flatMap((s) => runs.list(s.file))
    .filter((r) => RunFolder.open(r.dir).read().proposals.length > 0)
    .map((r) => ({ label: r.manifest.id, description: `${r.manifest.kind} · ${r.manifest.status}`, detail: r.dir, runDir: r.dir }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('AgentChord: no run with a proposal yet. Optimize a system first.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'AgentChord: review the proposal of which run?' }))?.runDir;
}

async function pickStep(runDir: string): Promise<number | undefined> {
  const { proposals } = RunFolder.open(runDir).read();
  if (proposals.length === 1) return proposals[0].step;
  const items = proposals.map((p) => ({
    label: `step ${p.step}`,
    description: `${p.changes.map((c) => c.agent).join(', ')}${p.accepted === false ? ' · rejected by the acceptance test' : ''}`,
    detail: p.reasoning.slice(0, 160),
    step: p.step,
  }));
  return (await vscode.window.showQuickPick(items, { title: 'AgentChord: review which step?' }))?.step;
}
