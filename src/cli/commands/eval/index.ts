/**
 * The benchmarks `agentchord eval` knows: one file per benchmark in this folder, each exporting a `Command` whose
 * name is the subcommand (`agentchord eval <name> …`). To add one, add its file and one line to this table.
 */
import type { Command } from '../../command';
import { multiwozEval } from './multiwoz';
import { tauRetailEval } from './tau-retail';

export const evalSubcommands: Command[] = [multiwozEval, tauRetailEval];
