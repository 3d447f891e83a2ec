/**
 * Applying a proposal to the prompt files, the one place AgentChord writes a user's prompt: only after a person saw
 * the diff (`agentchord apply`, the extension's review view). A proposal is data in the run folder, which anyone
 * could have edited, so before anything is shown or written `refusedChanges` checks every change against the system
 * the run belongs to (see there). All or nothing: every file must still hold the text the proposal was made from
 * (else nothing is written), each write is atomic (through a symbolic link, never replacing it), and if a later write
 * fails the files already written are put back.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { RunFolder } from '../engine/runFolder';
import type { PromptChange, Proposal } from '../engine/types';
import { frozenRegionsPreserved } from '../prompt/frozen';
import { fileKindOnDisk, isInside, realPathOnDisk } from '../system/files';
import { loadSystemFile } from '../system/load';
import { writeFileAtomic } from '../../shared/atomicWrite';

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
  /** Why changes may not be written (refusedChanges); when not empty, nothing may be written. */
  refused: string[];
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
  return { runDir, steps: chosen.map((p) => p.step), changes, notes, refused: refusedChanges(runDir, changes) };
}

/**
 * Why these changes of a run's proposals may not be written, one message per problem (empty: they may). The one
 * gate of `agentchord apply` and the extension's Review Proposal. A change may be written only when:
 *  - the run's system file (run.json `systemFile`) loads without errors and the run folder lies inside its folder;
 *  - the change names an agent of that system and exactly that agent's prompt file;
 *  - the agent does not say `optimize: false`;
 *  - the prompt file is a regular file inside the system's folder, its symbolic links resolved (unless the system file
 *    says `allowPathsOutside: true`);
 *  - the new text keeps every frozen region (<DONT_CHANGE>) of the old text verbatim.
 * Nothing here reads a file the system does not name as a prompt, so a forged proposal cannot make it read a device.
 */
export function refusedChanges(runDir: string, changes: readonly Pick<PromptChange, 'agent' | 'file' | 'before' | 'after'>[]): string[] {
  if (changes.length === 0) return [];
  const systemFile = RunFolder.open(runDir).current.systemFile;
  if (typeof systemFile !== 'string' || systemFile === '') return [`${runDir}: run.json names no system file; nothing of this run can be applied`];
  const { system, problems } = loadSystemFile(systemFile);
  if (!system) {
    const first = problems.find((p) => p.severity === 'error');
    return [`the run's system file ${systemFile} does not load${first ? ` (${first.file}:${first.line}:${first.column}: ${first.message})` : ''}; fix it first`];
  }
  const realDir = realPathOnDisk(system.dir);
  if (!isInside(realDir, realPathOnDisk(resolve(runDir)))) {
    return [`the run folder ${runDir} is not inside the folder of its system file ${systemFile}; nothing of this run can be applied`];
  }
  const agents = new Map(system.agents.map((a) => [a.name, a]));
  const refused: string[] = [];
  for (const c of changes) {
    const agent = agents.get(c.agent);
    const file = typeof c.file === 'string' ? resolve(system.dir, c.file) : '';
    if (!agent) {
      refused.push(`${c.file}: '${c.agent}' is not an agent of ${systemFile}`);
    } else if (file !== agent.promptFile) {
      refused.push(`${c.file} is not the prompt file of agent '${c.agent}' (that is ${agent.promptFile})`);
    } else if (!agent.optimize) {
      refused.push(`${c.file}: agent '${c.agent}' says 'optimize: false' in ${systemFile}, so its prompt is never changed`);
    } else if (fileKindOnDisk(file) !== 'file') {
      refused.push(`${c.file} is not a regular file`);
    } else if (!system.allowPathsOutside && !isInside(realDir, realPathOnDisk(file))) {
      refused.push(`${c.file} resolves to ${realPathOnDisk(file)}, outside the system's folder ${system.dir}`);
    } else if (typeof c.before !== 'string' || typeof c.after !== 'string') {
      refused.push(`${c.file}: the proposal's text is not a string (a damaged proposal file)`);
    } else {
      const frozen = frozenRegionsPreserved(c.before, c.after);
      if (!frozen.ok) {
        refused.push(`the change to ${c.file} would alter its frozen region(s) ${frozen.missing.map((m) => JSON.stringify(m.slice(0, 60))).join(', ')}`);
      }
    }
  }
  return refused;
}

/** Files whose text is no longer the proposal's `before` (edited since, missing, or not a regular file). */
export function changedSinceProposal(changes: readonly Pick<PlannedChange, 'file' | 'before'>[]): string[] {
  return changes
    .filter((c) => {
      try {
        // The type first: reading a device such as /dev/zero would never end.
        if (!statSync(c.file).isFile()) return true;
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

/**
 * Writes every change, or none. Returns the files written. With `runDir`, the changes are checked again against the
 * run's system first (refusedChanges), so a caller cannot skip the gate by accident.
 */
export async function applyChanges(
  changes: readonly PlannedChange[],
  options: { write?: (file: string, text: string) => Promise<void>; runDir?: string } = {},
): Promise<string[]> {
  const write = options.write ?? ((file: string, text: string) => writeFileAtomic(file, text));
  const refused = options.runDir === undefined ? [] : refusedChanges(options.runDir, changes);
  if (refused.length) throw new ApplyError(`not applied, nothing was written: ${refused.join('; ')}`);
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
      const detail = (err as Error).message;
      const reason = detail.startsWith(`${c.file}: `) ? detail.slice(c.file.length + 2) : detail;
      throw new ApplyError(`could not write ${c.file} (${reason}); it is unchanged${back}`);
    }
  }
  return written.map((c) => c.file);
}
