/** `agentchord eval tau-retail --replay-gt --split train|dev|test [--json] [--data <dir>]`: tau-bench retail checks. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRetailData, loadRetailTasks, RETAIL_SPLITS, type RetailData, type RetailSplit, type RetailTask } from '../../../benchmarks/tau-retail/db';
import { replayActions } from '../../../benchmarks/tau-retail/replay';
import { computeReward } from '../../../benchmarks/tau-retail/rewards';
import { CliError } from '../../cliError';
import type { Command } from '../../command';

const HELP = `Usage: agentchord eval tau-retail --replay-gt --split train|dev|test [--json] [--data <dir>]

Replays every task's ground-truth actions through AgentChord's TypeScript port of the tau-bench retail tools, each
task on a fresh database, and scores the result with tau-bench's action reward (the final database must equal the
ground truth's).

  --replay-gt         replay the ground-truth actions (required: the only mode so far)
  --split <name>      train (500 tasks), dev (20) or test (115)
  --json              print {"tasks": [{"taskIndex", "observations": [one per action], "actionReward"}, ...]}
  --data <dir>        the tau-retail data (default: examples/tau-retail/data of this installation)`;

/** Where the installed CLI finds the example's data: the bundle is dist/cli.js, the data examples/tau-retail/data. */
export function defaultTauRetailDataDir(cliDir: string = __dirname): string {
  return resolve(cliDir, '..', 'examples', 'tau-retail', 'data');
}

export interface ReplayedTask {
  taskIndex: number;
  observations: string[];
  actionReward: number;
}

/** Replays each task's ground truth on a fresh database and gives its observations and action reward. */
export function replayGroundTruth(data: RetailData, tasks: readonly RetailTask[]): ReplayedTask[] {
  return tasks.map((task, taskIndex) => {
    const { observations, database } = replayActions(data, task.actions);
    return { taskIndex, observations, actionReward: computeReward(data, task, database, []).actionReward };
  });
}

export const tauRetailEval: Command = {
  name: 'tau-retail',
  summary: 'tau-bench retail: replay the ground-truth actions and score them',
  help: HELP,
  async run(args: string[]): Promise<number> {
    let values: { 'replay-gt'?: boolean; split?: string; json?: boolean; data?: string };
    try {
      values = parseArgs({
        args,
        options: { 'replay-gt': { type: 'boolean' }, split: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (err) {
      throw new CliError(`eval tau-retail: ${(err as Error).message} (see 'agentchord eval --help')`);
    }
    if (!values['replay-gt']) throw new CliError('eval tau-retail: --replay-gt is required (the only mode so far)');
    if (!values.split || !RETAIL_SPLITS.includes(values.split as RetailSplit)) {
      throw new CliError(`eval tau-retail: --split must be one of ${RETAIL_SPLITS.join(', ')}${values.split ? ` (got '${values.split}')` : ''}`);
    }
    const split = values.split as RetailSplit;
    const dataDir = values.data ? resolve(values.data) : defaultTauRetailDataDir();

    let data: RetailData;
    let tasks: RetailTask[];
    try {
      data = loadRetailData(dataDir);
      tasks = loadRetailTasks(dataDir, split);
    } catch (err) {
      throw new CliError(`eval tau-retail: ${values.data ? '--data' : 'data'}: ${(err as Error).message}`);
    }

    const replayed = replayGroundTruth(data, tasks);
    if (values.json) {
      process.stdout.write(JSON.stringify({ tasks: replayed }, null, 2) + '\n');
    } else {
      const actions = replayed.reduce((n, t) => n + t.observations.length, 0);
      const errors = replayed.reduce((n, t) => n + t.observations.filter((o) => o.startsWith('Error:')).length, 0);
      const rewarded = replayed.filter((t) => t.actionReward === 1).length;
      process.stdout.write(
        `tau-bench retail, ${split} split (${dataDir}): ${tasks.length} tasks, ${actions} ground-truth actions replayed ` +
          `(${errors} observed an error, as in tau-bench)\naction reward 1 on ${rewarded} of ${tasks.length} tasks\n`,
      );
    }
    return 0;
  },
};
