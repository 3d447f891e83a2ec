/**
 * `agentchord eval multiwoz (--predictions <file> | --run <run dir>) [--json] [--data <dir>]`: the standard MultiWOZ
 * evaluator, on a predictions file or on a run of examples/multiwoz (converted by runConversion.ts).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadMultiwozEvalData, type MultiwozEvalData } from '../../../evals/multiwoz/data';
import { evaluateMultiwoz, type MultiwozScores } from '../../../evals/multiwoz/evaluator';
import { MultiwozInputError } from '../../../evals/multiwoz/normalise';
import { predictionsFromRunFolder } from '../../../evals/multiwoz/runConversion';
import { CliError } from '../../cliError';
import type { Command } from '../../command';
import { parseOptions } from '../../parseOptions';

const HELP = `Usage: agentchord eval multiwoz --predictions <file> [--json] [--data <dir>]
       agentchord eval multiwoz --run <run dir> [--output-agent <name>] [--label <label>] [--save <file>] [--json] [--data <dir>]

Scores MultiWOZ predictions as the standard evaluator (mwzeval) does. The file maps lower-case test dialogue ids
to one turn per system turn: {"sng0073": [{"response": "[name] is in the [area]", "state": {...},
"active_domains": [...]}, ...]}; "state" and "active_domains" are optional (all or nothing).

  --predictions <file>  the predictions
  --run <run dir>       instead: a run of examples/multiwoz (.agentchord/runs/<run>): per turn, the output agent's
                        reply is the response and the state is read off the workers' tool calls
  --output-agent <name> with --run: the agent whose output is the reply (default: responder)
  --label <label>       with --run: only the samples of this label. An optimize run labels them by step: "s0" is
                        step 1's training batch, "s0:val-current" and "s0:val-candidate" its acceptance test
  --save <file>         with --run: also write the converted predictions there
  --json                print {"inform", "success", "dst"} as JSON
  --data <dir>          the evaluation data (default: examples/multiwoz/data of this installation)

Inform and Success: percent with one decimal, per goal domain and total. DST: joint accuracy and slot F1 in
percent, slot precision and recall as fractions 0-1; null when the predictions have no states. DST is computed
against MultiWOZ 2.1 gold states (mwzeval's published DST uses 2.2 labels, which are not available here).`;

/** Where the installed CLI finds the example's data: the bundle is dist/cli.js, the data examples/multiwoz/data. */
export function defaultMultiwozDataDir(cliDir: string = __dirname): string {
  return resolve(cliDir, '..', 'examples', 'multiwoz', 'data');
}

/** Columns of the text table: total first, then the domains in the evaluator's usual order. */
const DOMAIN_ORDER = ['total', 'restaurant', 'hotel', 'attraction', 'train', 'taxi', 'police', 'hospital'];

export const multiwozEval: Command = {
  name: 'multiwoz',
  summary: 'MultiWOZ Inform / Success / DST of a predictions file or of a run of examples/multiwoz',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values } = parseOptions('eval multiwoz', {
      args,
      options: {
        predictions: { type: 'string' },
        run: { type: 'string' },
        'output-agent': { type: 'string', default: 'responder' },
        label: { type: 'string' },
        save: { type: 'string' },
        json: { type: 'boolean' },
        data: { type: 'string' },
      },
    });
    if (!values.predictions && !values.run) throw new CliError('eval multiwoz: --predictions <file> is required');
    if (values.predictions && values.run) throw new CliError('eval multiwoz: give --predictions <file> or --run <run dir>, not both');
    if (!values.run && (values.label !== undefined || values.save !== undefined)) throw new CliError('eval multiwoz: --label and --save go with --run');
    const file = resolve(values.predictions ?? values.run!);
    const predictions = values.run ? convertRun(file, values['output-agent']!, values.label, values.save) : readPredictions(file);

    const dataDir = values.data ? resolve(values.data) : defaultMultiwozDataDir();
    let data: MultiwozEvalData;
    try {
      data = loadMultiwozEvalData(dataDir);
    } catch (err) {
      throw new CliError(`eval multiwoz: ${values.data ? '--data' : 'evaluation data'}: ${(err as Error).message}`);
    }

    let scores: MultiwozScores;
    try {
      scores = evaluateMultiwoz(predictions, data);
    } catch (err) {
      if (err instanceof MultiwozInputError) throw new CliError(`eval multiwoz: ${file}: ${err.message}`);
      throw err;
    }
    for (const note of scores.notes) process.stderr.write(`agentchord: eval multiwoz: note: ${note}\n`);

    const result = { inform: ordered(scores.inform), success: ordered(scores.success), dst: scores.dst };
    process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : table(scores, file));
    return 0;
  },
};

/** The run's predictions (saved to `save` when given, atomically). */
function convertRun(runDir: string, outputAgent: string, label: string | undefined, save: string | undefined): unknown {
  let predictions: unknown;
  try {
    predictions = predictionsFromRunFolder(runDir, { outputAgent, label });
  } catch (err) {
    throw new CliError(`eval multiwoz: --run: ${(err as Error).message}`);
  }
  if (save) {
    const target = resolve(save);
    writeFileSync(`${target}.tmp`, JSON.stringify(predictions, null, 2) + '\n');
    renameSync(`${target}.tmp`, target);
  }
  return predictions;
}

function readPredictions(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`eval multiwoz: --predictions: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`eval multiwoz: ${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** `total` first, then the domains in DOMAIN_ORDER, then any others. */
function ordered(scores: Record<string, number>): Record<string, number> {
  const keys = Object.keys(scores).sort((a, b) => rank(a) - rank(b));
  return Object.fromEntries(keys.map((k) => [k, scores[k]]));
}

function rank(key: string): number {
  const i = DOMAIN_ORDER.indexOf(key);
  return i === -1 ? DOMAIN_ORDER.length : i;
}

function table(scores: MultiwozScores, file: string): string {
  const columns = Object.keys(ordered(scores.inform));
  const row = (label: string, cells: string[]) => label.padEnd(9) + cells.map((c, i) => c.padStart(Math.max(columns[i].length, 5) + 2)).join('');
  const lines = [
    `MultiWOZ: ${scores.dialogues} dialogue${scores.dialogues === 1 ? '' : 's'} from ${file}`,
    row('', columns),
    row('Inform', columns.map((c) => scores.inform[c].toFixed(1))),
    row('Success', columns.map((c) => scores.success[c].toFixed(1))),
  ];
  const dst = scores.dst;
  lines.push(
    dst
      ? `DST (MultiWOZ 2.1 labels): joint accuracy ${dst.jointAccuracy.toFixed(2)} %, slot F1 ${dst.slotF1.toFixed(2)} %, ` +
          `precision ${dst.slotPrecision.toFixed(4)}, recall ${dst.slotRecall.toFixed(4)}`
      : 'DST: not computed (the predictions have no states)',
  );
  return lines.join('\n') + '\n';
}
