/**
 * `agentchord eval <benchmark> …`: scores a benchmark's predictions with its standard evaluator. The benchmarks
 * are the subcommands in ./eval/ (one file each).
 */
import { CliError } from '../cliError';
import type { Command } from '../command';
import { evalSubcommands } from './eval/index';

const HELP = `Usage: agentchord eval <benchmark> [options]

Scores predictions with a benchmark's standard evaluator. Benchmarks:
${evalSubcommands.map((s) => `  ${s.name.padEnd(12)} ${s.summary}`).join('\n')}`;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'score benchmark predictions (MultiWOZ Inform/Success/DST, …)',
  // main.ts prints this for `--help` anywhere on the line, so it carries every benchmark's own help too.
  help: [HELP, ...evalSubcommands.map((s) => s.help)].join('\n\n'),
  async run(args: string[]): Promise<number> {
    const [name, ...rest] = args;
    if (!name) throw new CliError(`eval: name a benchmark: ${evalSubcommands.map((s) => s.name).join(', ')} (see 'agentchord eval --help')`);
    const subcommand = evalSubcommands.find((s) => s.name === name);
    if (!subcommand) {
      throw new CliError(`eval: unknown benchmark '${name}' (known: ${evalSubcommands.map((s) => s.name).join(', ')})`);
    }
    return subcommand.run(rest);
  },
};
