/**
 * `agentchord validate [dir-or-file] [--json]`: checks system files and prints `file:line:col: message` per problem.
 * Exit 0 when no file has errors (warnings allowed), 1 when one has, 2 on bad usage.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findSystemFiles, formatProblem, loadSystemFile, SYSTEM_FILE_NAME } from '../../core/system';
import type { LoadResult, Problem } from '../../core/system';
import { relativeToCwd } from '../../core/system/problems';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord validate [dir-or-file] [--json]

Checks system files (${SYSTEM_FILE_NAME}): YAML syntax, fields, references between agents and models, cycles,
agents that never reach the output, and files that must exist.

  dir-or-file   a system file, or a folder: its ${SYSTEM_FILE_NAME}, or every one found below it when it has
                none at the top (default: the current folder)
  --json        print the result as JSON instead of lines

Prints one 'file:line:col: message' line per problem, or '<file>: ok — N agents, output <agent>'.
Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.`;

/** The per-file result printed with --json. */
interface FileReport {
  file: string;
  ok: boolean;
  problems: Problem[];
  summary?: { name: string; agents: number; output: string; order: string[] };
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check agentchord.yaml files and print problems as file:line:col: message',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals: positional } = parseOptions('validate', { args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    const json = values.json === true;
    if (positional.length > 1) throw new CliError(`validate: expected at most one file or folder, got ${positional.length}`);

    const files = systemFilesAt(resolve(positional[0] ?? '.'));
    const reports = files.map((file) => report(file, loadSystemFile(file)));

    if (json) {
      process.stdout.write(JSON.stringify({ ok: reports.every((r) => r.ok), files: reports }, null, 2) + '\n');
    } else {
      for (const r of reports) {
        for (const p of r.problems) process.stdout.write(formatProblem(p) + '\n');
        if (r.summary) process.stdout.write(summaryLine(r) + '\n');
      }
    }
    return reports.every((r) => r.ok) ? 0 : 1;
  },
};

/** The system files a path stands for. A path that does not exist is passed on, so it is reported as a problem. */
function systemFilesAt(path: string): string[] {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return [path];
  }
  if (!isDirectory) return [path];
  const top = join(path, SYSTEM_FILE_NAME);
  try {
    if (statSync(top).isFile()) return [top];
  } catch {
    // none at the top level: search below
  }
  const found = findSystemFiles(path);
  if (found.length === 0) throw new CliError(`validate: no ${SYSTEM_FILE_NAME} found in ${path} or below it`, 1);
  return found;
}

function report(file: string, result: LoadResult): FileReport {
  const { system, problems } = result;
  return {
    file,
    ok: system !== undefined,
    problems,
    ...(system && { summary: { name: system.name, agents: system.agents.length, output: system.output, order: system.order } }),
  };
}

function summaryLine(r: FileReport): string {
  const s = r.summary!;
  const warnings = r.problems.length ? `, ${r.problems.length} warning${r.problems.length > 1 ? 's' : ''}` : '';
  return `${relativeToCwd(r.file)}: ok — ${s.agents} agent${s.agents === 1 ? '' : 's'}, output ${s.output}${warnings}`;
}
