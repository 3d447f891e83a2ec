/**
 * Applying a proposal to the prompt files, the one place AgentChord writes a user's prompt: only after a person saw
 * the diff (`agentchord apply`, the extension's review view). All or nothing: every file must still hold the text
 * the proposal was made from (else nothing is written), each write is atomic, and if a later write fails the files
 * already written are put back.
 */
import { readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import { RunFolder } from '../engine/runFolder';
import type { PromptChange, Proposal } from '../engine/types';
import { writeFileAtomic } from '../util/atomicWrite';

export interface PlannedChange {
  agent: string;
  file: string;
  before: string;
  after: string;
  warnings: string[];
  /** Unified diff before -> after. */
  diff: string;
}

export interface ApplyPlan {
  runDir: string;
  /** The proposal steps the changes come from. */
  steps: number[];
  changes: PlannedChange[];
  /** e.g. "step 2 was rejected by the acceptance test". */
  notes: string[];
}

/**
 * What applying a run means. With `step`: that proposal's changes. Without: the run's end result, every proposal not
 * rejected by the acceptance test, in order: per agent, from the text of its first proposal to that of its last.
 */
export function planApply(runDir: string, step?: number): ApplyPlan {
  const { proposals } = RunFolder.open(runDir).read();
  if (proposals.length === 0) throw new Error(`${runDir}: this run has no proposals`);
  const notes: string[] = [];
  let chosen: Proposal[];
  if (step !== undefined) {
    const p = proposals.find((x) => x.step === step);
    if (!p) throw new Error(`${runDir}: no proposal for step ${step} (steps with proposals: ${proposals.map((x) => x.step).join(', ')})`);
    if (p.accepted === false) notes.push(`step ${step} was rejected by the acceptance test (validation ${p.scoreBefore} -> ${p.scoreAfter}); applying it anyway as asked`);
    chosen = [p];
  } else {
    chosen = proposals.filter((p) => p.accepted !== false);
    const rejected = proposals.filter((p) => p.accepted === false).map((p) => p.step);
    if (rejected.length) notes.push(`left out step${rejected.length > 1 ? 's' : ''} ${rejected.join(', ')}: rejected by the acceptance test`);
    if (chosen.length === 0) throw new Error(`${runDir}: every proposal was rejected by the acceptance test; pass --step <n> to apply one anyway`);
  }

  const byAgent = new Map<string, PromptChange>();
  for (const p of chosen) {
    for (const c of p.changes) {
      const seen = byAgent.get(c.agent);
      byAgent.set(c.agent, seen ? { ...c, before: seen.before, warnings: [...seen.warnings, ...c.warnings] } : { ...c, warnings: [...c.warnings] });
    }
  }
  const changes = [...byAgent.values()]
    .filter((c) => c.before !== c.after)
    .map((c) => ({ ...c, diff: createTwoFilesPatch(c.file, c.file, c.before, c.after, 'current', 'proposed') }));
  return { runDir, steps: chosen.map((p) => p.step), changes, notes };
}

/** Files whose text is no longer the proposal's `before` (edited since, or missing). */
export function changedSinceProposal(changes: readonly Pick<PlannedChange, 'file' | 'before'>[]): string[] {
  return changes
    .filter((c) => {
      try {
        return readFileSync(c.file, 'utf8') !== c.before;
      } catch {
        return true;
      }
    })
    .map((c) => c.file);
}

export class ApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApplyError';
  }
}

/** Writes every change, or none. Returns the files written. */
export async function applyChanges(
  changes: readonly PlannedChange[],
  options: { write?: (file: string, text: string) => Promise<void> } = {},
): Promise<string[]> {
  const write = options.write ?? ((file: string, text: string) => writeFileAtomic(file, text));
  const changed = changedSinceProposal(changes);
  if (changed.length) {
    throw new ApplyError(`not applied: ${changed.join(', ')} changed since the proposal was made (or is missing); nothing was written. Re-run the optimization on the current prompts.`);
  }
  const written: PlannedChange[] = [];
  for (const c of changes) {
    try {
      await write(c.file, c.after);
      written.push(c);
    } catch (err) {
      const restored: string[] = [];
      for (const w of written.reverse()) {
        await writeFileAtomic(w.file, w.before).then(
          () => restored.push(w.file),
          () => undefined,
        );
      }
      const back = restored.length ? `; ${restored.join(', ')} put back as before` : '';
      throw new ApplyError(`could not write ${c.file} (${(err as Error).message}); it is unchanged${back}`);
    }
  }
  return written.map((c) => c.file);
}
