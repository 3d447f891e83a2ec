/**
 * `agentchord apply <run> [--step n] [--yes]`: shows the unified diff of every prompt file a run's proposals change,
 * asks before writing (on a terminal; elsewhere --yes is required), refuses before showing anything if a change is not
 * one the run's system allows (refusedChanges) or a prompt file changed since the proposal was made, and writes all
 * files or none (see src/core/optimizer/apply.ts).
 */
import { createInterface } from 'node:readline/promises';
import { resolve } from 'node:path';
import { applyChanges, ApplyError, changedSinceProposal, planApply } from '../../core/optimizer/apply';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord apply <run> [--step <n>] [--yes] [--json]

Applies an optimization's proposed prompts to the prompt files, after showing the diff.

  run          the run folder (.agentchord/runs/<id>)
  --step <n>   apply only the proposal of step n (default: every proposal the acceptance test kept, in order)
  --yes        write without asking (required when not on a terminal)
  --json       print the planned changes (and what was written) as JSON

Writes only the prompt files of the run's system (run.json names it), inside its folder, of agents without
'optimize: false', keeping every <DONT_CHANGE> region; refuses, writing nothing and showing no diff, when a change
is not such a file or a prompt file changed since the proposal was made.
Exit status: 0 applied (or nothing to apply), 1 refused or declined, 2 bad usage.`;

export interface ApplyIO {
  out: (text: string) => void;
  /** Asks yes/no; undefined when no one can be asked (not a terminal). */
  confirm?: (question: string) => Promise<boolean>;
}

function terminalIO(): ApplyIO {
  const interactive = process.stdin.isTTY && process.stdout.isTTY;
  return {
    out: (text) => process.stdout.write(text),
    confirm: interactive
      ? async (question) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return /^y(es)?$/i.test((await rl.question(question)).trim());
          } finally {
            rl.close();
          }
        }
      : undefined,
  };
}

export async function runApply(args: string[], io: ApplyIO): Promise<number> {
  const { values, positionals } = parseOptions('apply', {
    args,
    allowPositionals: true,
    options: { step: { type: 'string' }, yes: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new CliError('apply: expected one run folder (see \'agentchord apply --help\')');
  const step = values.step === undefined ? undefined : Number(values.step);
  if (step !== undefined && !(Number.isInteger(step) && step >= 0)) throw new CliError(`apply: --step must be an integer >= 0, got '${values.step}'`);

  let plan;
  try {
    plan = planApply(resolve(positionals[0]), step);
  } catch (err) {
    throw new CliError(`apply: ${(err as Error).message}`, 1);
  }
  const summary = plan.changes.map((c) => ({ agent: c.agent, file: c.file, warnings: c.warnings, diff: c.diff }));
  // Refusals and stale files before any diff: a diff of a change that will not be written only misleads.
  if (plan.refused.length) {
    throw new CliError(`apply: not applied, nothing was written: ${plan.refused.join('; ')}`, 1);
  }
  const stale = changedSinceProposal(plan.changes);
  if (stale.length) {
    const hint = step !== undefined ? " (a step builds on the earlier steps' kept proposals: apply without --step to apply them all)" : '';
    throw new CliError(`apply: not applied: ${stale.join(', ')} changed since the proposal was made; nothing was written${hint}`, 1);
  }
  if (!values.json) {
    for (const note of plan.notes) io.out(`note: ${note}\n`);
    for (const c of plan.changes) {
      io.out(c.diff.endsWith('\n') ? c.diff : c.diff + '\n');
      for (const w of c.warnings) io.out(`warning (${c.agent}): ${w}\n`);
    }
  }
  if (plan.changes.length === 0) {
    if (values.json) io.out(JSON.stringify({ steps: plan.steps, changes: [], written: [] }, null, 2) + '\n');
    else io.out('nothing to apply: the proposals leave every prompt as it is\n');
    return 0;
  }
  if (!values.yes) {
    if (!io.confirm) {
      throw new CliError('apply: not applied: pass --yes to write without a terminal to confirm on', 1);
    }
    const files = plan.changes.length === 1 ? plan.changes[0].file : `these ${plan.changes.length} files`;
    if (!(await io.confirm(`Write ${files}? [y/N] `))) {
      io.out('not applied\n');
      return 1;
    }
  }
  let written: string[];
  try {
    written = await applyChanges(plan.changes, { runDir: plan.runDir });
  } catch (err) {
    if (err instanceof ApplyError) throw new CliError(`apply: ${err.message}`, 1);
    throw err;
  }
  if (values.json) io.out(JSON.stringify({ steps: plan.steps, changes: summary, written }, null, 2) + '\n');
  else for (const f of written) io.out(`wrote ${f}\n`);
  return 0;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'show the diff of an optimization\'s proposed prompts and write them (asks first)',
  help: HELP,
  run: (args) => runApply(args, terminalIO()),
};
