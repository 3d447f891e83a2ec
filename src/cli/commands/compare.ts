/**
 * `agentchord compare <run-a> <run-b> [--json]`: per-sample score changes, the blame shift per agent and the prompt
 * diff between two runs (src/core/report/compare.ts). `report <run> --html f --compare <other>` puts the same in the
 * HTML report.
 */
import { resolve } from 'node:path';
import { RunFolder } from '../../core/engine/runFolder';
import { compareRuns, formatComparison } from '../../core/report/compare';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord compare <run-a> <run-b> [--json]

Compares two run folders (e.g. before and after applying a proposal): the score of every sample both ran, how each
agent's share of the blame moved, and each agent's prompt (as sent, from the calls) with a unified diff where it
changed.

  --json   print the comparison as JSON
Exit status: 0, or 2 when a folder is not a run.`;

export function readRunOrThrow(command: string, path: string) {
  try {
    return RunFolder.open(resolve(path)).read();
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`);
  }
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'two runs side by side: score changes per sample, blame shift per agent, prompt diffs',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseOptions('compare', { args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length !== 2) throw new CliError("compare: expected two run folders (see 'agentchord compare --help')");
    const comparison = compareRuns(readRunOrThrow('compare', positionals[0]), readRunOrThrow('compare', positionals[1]));
    process.stdout.write((values.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison)) + '\n');
    return 0;
  },
};
