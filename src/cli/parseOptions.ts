import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cliError';

/**
 * node:util parseArgs in strict mode, for one command: a usage mistake (unknown option, missing value) becomes a
 * CliError (exit 2) naming the command and pointing at its help.
 */
export function parseOptions<T extends ParseArgsConfig & { args: string[] }>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    // strict (unknown options are errors) is parseArgs' default; set it here so no command can turn it off.
    return parseArgs<T>({ ...config, strict: true });
  } catch (err) {
    const help = command.startsWith('eval ') ? 'eval' : command;
    throw new CliError(`${command}: ${(err as Error).message} (see 'agentchord ${help} --help')`);
  }
}
