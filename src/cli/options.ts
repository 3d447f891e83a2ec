/**
 * What several commands parse the same way: whole-number and positive options, and the system file a command runs
 * on (a folder or the file itself). One place, so the messages and exit codes agree across commands.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatProblem, loadSystemFile, SYSTEM_FILE_NAME, type SystemConfig } from '../core/system';
import { CliError } from './cliError';

/** An integer >= 1 from an option's text; undefined when the option was not given. */
export function positiveInt(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 1) throw new CliError(`${command}: ${flag} must be an integer >= 1, got '${value}'`);
  return n;
}

/** A finite number > 0 from an option's text; undefined when the option was not given. */
export function positiveNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${command}: ${flag} must be a number > 0, got '${value}'`);
  return n;
}

/** The system file of `path` (a folder holding agentchord.yaml, or the file). */
function systemFileOf(path: string): string {
  const file = resolve(path);
  return existsSync(file) && statSync(file).isDirectory() ? join(file, SYSTEM_FILE_NAME) : file;
}

/** Loads the system file at `path`; a missing file exits 2, a file with errors exits 1 listing them. */
export function loadSystemOrThrow(command: string, path: string): SystemConfig {
  const file = systemFileOf(path);
  if (!existsSync(file)) throw new CliError(`${command}: system file not found: ${file}`);
  const { system, problems } = loadSystemFile(file);
  if (!system) throw new CliError(`${command}: the system file has errors:\n${problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`, 1);
  return system;
}
