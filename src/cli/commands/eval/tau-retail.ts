/**
 * `agentchord eval tau-retail`: tau-bench retail metrics.
 *   --run <run dir> [--out <file>]  a run of examples/tau-retail converted to tau-bench's results format and scored;
 *   --predictions <file>            a tau-bench results file scored;
 *   --replay-gt --split <s>         the ground-truth actions replayed and scored.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadRetailData, loadRetailTasks, RETAIL_SPLITS, type RetailData, type RetailSplit, type RetailTask } from '../../../evals/tau-retail/db';
import { replayActions } from '../../../evals/tau-retail/replay';
import { computeReward } from '../../../evals/tau-retail/rewards';
import {
  convertRun,
  RunConversionError,
  scoreResultsFile,
  summarizeResults,
  type ResultsSummary,
  type TauRunResult,
} from '../../../evals/tau-retail/runConversion';
import { CliError } from '../../cliError';
import type { Command } from '../../command';
import { parseOptions } from '../../parseOptions';
import { positiveInt } from '../../options';

const HELP = `Usage: agentchord eval tau-retail --run <run dir> [--out <file>] [--max-turns <n>] [--json] [--data <dir>]
       agentchord eval tau-retail --predictions <file> [--split train|dev|test] [--json] [--data <dir>]
       agentchord eval tau-retail --replay-gt --split train|dev|test [--json] [--data <dir>]

tau-bench retail metrics, computed as tau-bench computes them: every episode's tool actions are replayed on a fresh
database, which must equal the one the task's ground-truth actions produce (action reward), and every required
output must appear in one of the agent's messages (output reward); the reward is 1 when both hold and the episode
ended (the customer's ###STOP### or a transfer to a human agent).

  --run <dir>           a run folder of examples/tau-retail (agentchord run / optimize): converted to tau-bench's
                        results format ({task_id, reward, info, traj, trial} per episode) and scored
  --out <file>          with --run: also write the converted results there
  --max-turns <n>       with --run: the environment's maxTurns (default: read from the run's agentchord.yaml, else 30)
  --predictions <file>  a tau-bench results file (a JSON array of {task_id, traj, info?}) to score again
  --split <name>        the tasks' split: train (500 tasks), dev (20) or test (115); for --predictions, where an
                        episode's info.split does not say (default test)
  --replay-gt           replay the ground-truth actions of --split instead
  --json                print the results as JSON
  --data <dir>          the tau-retail data (default: examples/tau-retail/data of this installation)

Scores: average reward over episodes, pass^k over tasks (for k up to the fewest trials of a task), mean action
reward, and mean output reward over the episodes whose task requires outputs.`;

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

interface EvalValues {
  run?: string;
  out?: string;
  'max-turns'?: string;
  predictions?: string;
  'replay-gt'?: boolean;
  split?: string;
  json?: boolean;
  data?: string;
}

export const tauRetailEval: Command = {
  name: 'tau-retail',
  summary: 'tau-bench retail: score a run folder or a results file; replay the ground truth',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const values: EvalValues = parseOptions('eval tau-retail', {
      args,
      options: {
        run: { type: 'string' },
        out: { type: 'string' },
        'max-turns': { type: 'string' },
        predictions: { type: 'string' },
        'replay-gt': { type: 'boolean' },
        split: { type: 'string' },
        json: { type: 'boolean' },
        data: { type: 'string' },
      },
    }).values;
    const modes = [values.run !== undefined, values.predictions !== undefined, values['replay-gt'] === true].filter(Boolean).length;
    if (modes !== 1) throw new CliError('eval tau-retail: give exactly one of --run <run dir>, --predictions <file>, --replay-gt');
    if (values.out !== undefined && values.run === undefined) throw new CliError('eval tau-retail: --out goes with --run');
    if (values['max-turns'] !== undefined && values.run === undefined) throw new CliError('eval tau-retail: --max-turns goes with --run');
    if (values.split !== undefined && !RETAIL_SPLITS.includes(values.split as RetailSplit)) {
      throw new CliError(`eval tau-retail: --split must be one of ${RETAIL_SPLITS.join(', ')} (got '${values.split}')`);
    }
    const dataDir = values.data ? resolve(values.data) : defaultTauRetailDataDir();
    if (values['replay-gt']) return replayMode(values, dataDir);

    let results: TauRunResult[];
    let notes: string[] = [];
    let source: string;
    try {
      if (values.run !== undefined) {
        source = resolve(values.run);
        if (!existsSync(source) || !statSync(source).isDirectory()) throw new CliError(`eval tau-retail: --run: ${source} is not a folder`);
        const maxTurns = values['max-turns'] !== undefined ? positiveInt('eval tau-retail', '--max-turns', values['max-turns']) : maxTurnsOfRun(source);
        ({ results, notes } = convertRun(source, dataDir, { maxTurns }));
        if (values.out !== undefined) writeFileAtomically(resolve(values.out), JSON.stringify(results, null, 2) + '\n');
      } else {
        source = resolve(values.predictions!);
        results = scoreResultsFile(readJson(source), dataDir, (values.split as RetailSplit | undefined) ?? 'test', source);
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      if (err instanceof RunConversionError) throw new CliError(`eval tau-retail: ${err.message}`);
      throw new CliError(`eval tau-retail: ${values.data ? '--data' : 'data'}: ${(err as Error).message}`);
    }
    for (const note of notes) process.stderr.write(`agentchord: eval tau-retail: note: ${note}\n`);
    const summary = summarizeResults(results);
    if (values.json) {
      const episodes = results.map((r) => ({
        split: r.info.split,
        taskId: r.task_id,
        sampleId: r.info.sample_id,
        trial: r.trial,
        reward: r.reward,
        actionReward: r.info.reward_info.info.r_actions,
        outputReward: r.info.reward_info.info.r_outputs,
        ended: r.info.ended,
      }));
      process.stdout.write(JSON.stringify({ summary, episodes }, null, 2) + '\n');
    } else {
      process.stdout.write(summaryText(summary, source) + (values.out ? `results written to ${resolve(values.out)}\n` : ''));
    }
    return 0;
  },
};

function replayMode(values: EvalValues, dataDir: string): number {
  if (!values.split) throw new CliError(`eval tau-retail: --split must be one of ${RETAIL_SPLITS.join(', ')}`);
  const split = values.split as RetailSplit;
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
}

function summaryText(s: ResultsSummary, source: string): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const lines = [
    `tau-bench retail: ${s.episodes} episode${s.episodes === 1 ? '' : 's'} of ${s.tasks} task${s.tasks === 1 ? '' : 's'} from ${source}`,
    `average reward  ${s.averageReward.toFixed(4)}`,
    ...Object.entries(s.passHatK).map(([k, v]) => `pass^${k}          ${v.toFixed(4)}`),
    `action reward   ${pct(s.actionReward)} of episodes`,
    `output reward   ${s.outputReward === null ? 'n/a (no task requires outputs)' : `${pct(s.outputReward)} of the episodes whose task requires outputs`}`,
  ];
  return lines.join('\n') + '\n';
}

/** environment.maxTurns of the system file the run was made from (run.json's systemFile), else the default 30. */
function maxTurnsOfRun(runDir: string): number {
  try {
    const manifest = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { systemFile?: string };
    const system = parseYaml(readFileSync(manifest.systemFile!, 'utf8')) as { environment?: { maxTurns?: unknown } };
    const value = system?.environment?.maxTurns;
    return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : 30;
  } catch {
    return 30; // no manifest or system file any more: the engine's default
  }
}


function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`eval tau-retail: --predictions: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`eval tau-retail: ${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Writes next to the target and renames, so an interrupted write never leaves half a file. */
function writeFileAtomically(file: string, text: string): void {
  if (!existsSync(dirname(file))) throw new CliError(`eval tau-retail: --out: the folder ${dirname(file)} does not exist`);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}
