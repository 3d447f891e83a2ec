/** The markdown shown beside a proposal under review: the optimizer's reasoning and the trajectories behind it. */
import { relative } from 'node:path';
import type { Proposal } from '../../../core/engine/types';

export function reviewMarkdown(proposal: Proposal, baseDir: string): string {
  const lines: string[] = [];
  lines.push(`# AgentChord: proposal of step ${proposal.step}`, '');
  lines.push(`Run \`${proposal.runId}\` · optimizer \`${proposal.optimizer}\``);
  if (proposal.scoreBefore !== undefined || proposal.scoreAfter !== undefined) {
    const verdict = proposal.accepted === undefined ? '' : proposal.accepted ? ' — kept by the acceptance test' : ' — rejected by the acceptance test';
    lines.push(`Validation score ${proposal.scoreBefore ?? '?'} → ${proposal.scoreAfter ?? '?'}${verdict}`);
  }
  lines.push('', '## Reasoning', '', proposal.reasoning.trim() || '_(none given)_', '', '## Changes', '');
  for (const c of proposal.changes) {
    lines.push(`- **${c.agent}**: \`${relative(baseDir, c.file) || c.file}\`${c.before === c.after ? ' (unchanged)' : ''}`);
    for (const w of c.warnings) lines.push(`  - warning: ${w}`);
  }
  lines.push('', `## Trajectories that motivated it (${proposal.trajectories.length})`, '');
  for (const t of proposal.trajectories) {
    lines.push(`- \`${t.sampleId}\`: ${[...t.agents, 'loss'].join(' → ')}`);
    if (t.loss) lines.push(`  > ${t.loss.replace(/\s+/g, ' ').trim()}`);
  }
  lines.push('', 'Nothing is written until you apply the edit in the Refactor Preview (per file and per hunk); Undo reverts it.');
  return lines.join('\n') + '\n';
}
