import { join } from 'node:path';
import * as vscode from 'vscode';
import { RUN_FILES } from '../../core/engine/types';
import type { Ctx } from '../ctx';

const REVIEW = 'Review Proposals';
const OPEN_REPORT = 'Open HTML Report';

/** Virtual documents showing a run's summary: `agentchord-run:<run folder>/summary.md` (read-only, never dirty). */
export const RUN_SUMMARY_SCHEME = 'agentchord-run';

export function runSummaryUri(runDir: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RUN_SUMMARY_SCHEME, path: `${runDir}/summary.md` });
}

/** Serves run summaries as markdown, rendered from the run folder each time the document is opened. */
export function registerRunSummaries(ctx: Ctx): void {
  const changed = ctx.own(new vscode.EventEmitter<vscode.Uri>());
  ctx.own(
    vscode.workspace.registerTextDocumentContentProvider(RUN_SUMMARY_SCHEME, {
      onDidChange: changed.event,
      provideTextDocumentContent: (uri) => runSummaryMarkdown(uri.path.replace(/\/summary\.md$/, '')),
    }),
  );
}

/** The summary of a run (blame, weights, trajectories) with links to the proposals and the HTML report. */
export async function runSummaryMarkdown(runDir: string): Promise<string> {
  const { RunFolder } = await import('../../core/engine/runFolder');
  const { formatSummary, summarizeRun } = await import('../../core/report');
  const contents = RunFolder.open(runDir).read();
  const m = contents.manifest;
  const lines = [
    `# AgentChord ${m.kind} ${m.id}: ${m.status}`,
    '',
    `- system: ${m.systemFile}`,
    `- run folder: ${runDir}`,
    `- dataset: ${m.dataset.split} (${m.dataset.samples} samples)`,
    `- model calls: ${m.usage.calls}, tokens: ${m.usage.promptTokens + m.usage.completionTokens}, cost: $${m.usage.costUsd.toFixed(4)}`,
    ...(m.error ? [`- note: ${m.error}`] : []),
    `- HTML report: [${RUN_FILES.report}](${vscode.Uri.file(join(runDir, RUN_FILES.report)).toString()})`,
    ...contents.proposals.map(
      (p) => `- proposal step ${p.step}${p.accepted === false ? ' (rejected by the acceptance test)' : ''}: ${p.changes.map((c) => c.agent).join(', ') || 'no change'} — ${vscode.Uri.file(join(runDir, RUN_FILES.proposalsDir, `step-${p.step}.json`)).toString()}`,
    ),
    '',
    '```text',
    formatSummary(summarizeRun(contents)),
    '```',
    '',
  ];
  return lines.join('\n');
}

/** Writes the run's self-contained HTML report (atomically) and returns its path. */
export async function writeHtmlReport(runDir: string): Promise<string> {
  const { RunFolder } = await import('../../core/engine/runFolder');
  const { renderHtmlReport } = await import('../../core/report');
  const { writeFileAtomic } = await import('../../shared/atomicWrite');
  const file = join(runDir, RUN_FILES.report);
  await writeFileAtomic(file, await renderHtmlReport(RunFolder.open(runDir).read()));
  return file;
}

/**
 * Opens the run's summary document and offers the HTML report. Failures here are logged, never thrown: the run
 * itself is already safe on disk.
 */
export async function showRunResult(ctx: Ctx, runDir: string, headline: string, hasProposals = false): Promise<void> {
  let report: string | undefined;
  try {
    report = await writeHtmlReport(runDir);
  } catch (err) {
    ctx.log.warn(`writing the HTML report of ${runDir} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    await vscode.window.showTextDocument(runSummaryUri(runDir), { preview: true });
  } catch (err) {
    ctx.log.warn(`opening the summary of ${runDir} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const actions = [...(hasProposals ? [REVIEW] : []), ...(report ? [OPEN_REPORT] : [])];
  void vscode.window.showInformationMessage(`AgentChord: ${headline}`, ...actions).then((choice) => {
    // Reviewing a proposal as diffs is helper "editor"'s command (src/extension/review/).
    if (choice === REVIEW) void vscode.commands.executeCommand('agentchord.reviewProposal', { runDir });
    if (choice === OPEN_REPORT && report) void vscode.env.openExternal(vscode.Uri.file(report));
  });
}
