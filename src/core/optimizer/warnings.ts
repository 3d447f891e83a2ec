/**
 * The offline optimizer: no model call. For each blamed agent it adds (or extends) a "## Warning" section, outside
 * the frozen regions, listing the concrete failure cases from its trajectories: what it was given, what it produced,
 * and what the loss said. Cases are deduplicated against what the section already holds and bounded in number and
 * by the prompt-length budget.
 */
import { blamedAgents } from '../engine/backward';
import type { AgentCall, PromptChange, Trajectory } from '../engine/types';
import { parsePromptFile } from '../prompt';
import { excerpt, type Optimizer, type OptimizerInput, type OptimizerResult } from './types';

export const WARNING_HEADING = '## Warning';
const WARNING_INTRO = 'Failures seen in earlier runs; do not repeat them:';
/** New cases per agent per step, and cases a section may hold in all. */
export const MAX_NEW_CASES = 3;
export const MAX_SECTION_CASES = 8;

export function makeWarningsOptimizer(): Optimizer {
  return { kind: 'warnings', propose: async (input) => proposeWarnings(input) };
}

export function proposeWarnings(input: OptimizerInput): OptimizerResult {
  const blamed = blamedAgents(input.trajectories);
  if (blamed.length === 0) return { ok: false, message: 'no trajectories: every sample of the batch was correct, nothing to warn about' };
  const callsById = new Map(input.calls.map((c) => [c.id, c]));
  const changes: PromptChange[] = [];
  const notes: string[] = [];

  for (const agent of blamed) {
    const config = input.system.agents.find((a) => a.name === agent);
    const before = input.prompts[agent];
    if (!config || before === undefined) continue;
    const cases = failureCases(agent, input.trajectories, callsById);
    const { text, added, warnings } = addWarnings(before, cases, input.system.optimizer.maxPromptChars);
    if (added > 0 && text !== before) {
      changes.push({ agent, file: config.promptFile, before, after: text, warnings });
      notes.push(`${agent}: ${added} failure case${added === 1 ? '' : 's'} added`);
    }
  }
  if (changes.length === 0) return { ok: false, message: 'the failure cases are already listed in the blamed prompts (or no room is left)' };
  return { ok: true, reasoning: `Added concrete failure cases to the "Warning" section of the blamed agents. ${notes.join('; ')}.`, changes };
}

/** One bullet per (sample, agent): the agent's last call on each trajectory through it. */
export function failureCases(agent: string, trajectories: readonly Trajectory[], callsById: Map<string, AgentCall>): string[] {
  const cases: string[] = [];
  for (const t of trajectories) {
    const call = [...t.path].reverse().map((id) => callsById.get(id)).find((c) => c?.agent === agent);
    if (!call) continue;
    const input = call.blocks.length > 0 ? call.blocks.map((b) => call.renderedInput.slice(b.charStart, b.charEnd)).join(' | ') : call.renderedInput;
    const bullet = `- Given "${excerpt(input, 120)}", you wrote "${excerpt(call.output, 120)}"; the final result was judged: "${excerpt(t.loss, 200)}"`;
    if (!cases.includes(bullet)) cases.push(bullet);
  }
  return cases;
}

/** Adds the bullets not already present to the Warning section (created at the end of the body when absent). */
export function addWarnings(text: string, cases: string[], maxChars: number): { text: string; added: number; warnings: string[] } {
  const prompt = parsePromptFile(text);
  const insideFrozen = (offset: number) => prompt.frozenRegions.some((r) => offset >= r.range.start && offset < r.range.end);
  const headingRe = /^## Warning[ \t]*$/gm;
  headingRe.lastIndex = prompt.bodyOffset;
  let heading: RegExpExecArray | null = null;
  for (let m = headingRe.exec(text); m; m = headingRe.exec(text)) {
    if (!insideFrozen(m.index)) {
      heading = m;
      break;
    }
  }

  const warnings: string[] = [];
  let sectionEnd: number;
  let out: string;
  if (heading) {
    // The section runs to the next heading of level 1-2 (outside frozen regions) or the end.
    const next = /^#{1,2} /gm;
    next.lastIndex = heading.index + heading[0].length;
    let end = text.length;
    for (let m = next.exec(text); m; m = next.exec(text)) {
      if (!insideFrozen(m.index)) {
        end = m.index;
        break;
      }
    }
    // Never end the section inside a frozen region.
    const region = prompt.frozenRegions.find((r) => end > r.range.start && end < r.range.end);
    sectionEnd = region ? region.range.start : end;
    out = text;
  } else {
    const base = text.replace(/\s*$/, '');
    out = `${base}\n\n${WARNING_HEADING}\n\n${WARNING_INTRO}\n`;
    sectionEnd = out.length;
  }

  const section = out.slice(0, sectionEnd);
  const existing = (section.match(/^- .*$/gm) ?? []).length;
  let insertion = '';
  let added = 0;
  for (const bullet of cases) {
    if (section.includes(bullet) || insertion.includes(bullet)) continue;
    if (added >= MAX_NEW_CASES || (heading ? existing : 0) + added >= MAX_SECTION_CASES) {
      warnings.push(`more failure cases than the Warning section holds (${MAX_SECTION_CASES}); the rest were left out`);
      break;
    }
    const candidate = insertion + bullet + '\n';
    if (out.length + candidate.length > maxChars) {
      warnings.push(`prompt-length budget (optimizer.maxPromptChars = ${maxChars}) reached; some failure cases were left out`);
      break;
    }
    insertion = candidate;
    added++;
  }
  if (added === 0) return { text, added: 0, warnings };
  const beforeInsert = out.slice(0, sectionEnd).replace(/\n*$/, '\n');
  const afterInsert = out.slice(sectionEnd);
  return { text: beforeInsert + insertion + (afterInsert ? '\n' + afterInsert.replace(/^\n+/, '') : ''), added, warnings };
}
