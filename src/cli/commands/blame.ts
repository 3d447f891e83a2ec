/**
 * `agentchord blame <run>`: connection weights on a local model (a surrogate for the agents' own models) for every
 * call of a run, a verdict per trace, the backward pass; then prints the report. Models run in this process.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inProcessModels } from '../../backend/inProcess';
import { BACKEND_OPTIONS, BACKEND_OPTIONS_HELP, remoteModelsFor } from '../remoteBackends';
import { parseDeviceChoice } from '../../backend/runtime/device';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { RunFolder } from '../../core/engine/runFolder';
import { modelFolder, parseModelRef } from '../../shared/modelCache';
import { envApiKeyResolver, OpenAIProvider } from '../../core/llm/openaiProvider';
import { formatSummary, summarizeRun } from '../../core/report';
import { ATTRIBUTION_STRATEGIES, type AttributionStrategy } from '../../core/system/types';
import { blameRun, REFERENCE_METRICS, type VerdictSource } from '../../core/trace/blame';
import { TraceError } from '../../core/trace/types';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { embeddedModelDir } from '../embeddedModels';
import { positiveInt } from '../options';
import { parseOptions } from '../parseOptions';
import { progressLine } from './progressLine';

const HELP = `Usage: agentchord blame <run> [--model <dir>] (--loss <file> | --reference <file> [--metric m] | --judge-model <m> --judge-url <url>)
                        [--strategy s] [--top-k k] [--device d] [--json]

Computes the connection weights of every call of a run (an imported trace, or any run folder) on a local white-box
model, marked as a surrogate for the models the agents ran on; takes a verdict per trace; propagates each failing
verdict back along the strongest connections (the backward pass); writes attribution, samples, graphs and
trajectories into the run folder (each file atomically) and prints the report (agentchord report <run> --html f
for graphs and heat maps).

  --model <dir>        attribution model: a Hugging Face folder, or a pulled repository id such as Qwen/Qwen3-0.6B
                       (default: the embedded chord-retrieval)
  --loss <file>        verdicts: {"traceId", "loss", "score"} per line (or a JSON array); loss '' for a good trace
  --reference <file>   expected outputs: {"traceId", "reference"} per line, compared by --metric (default contains;
                       exact_match, json_field_match)
  --judge-model <m>    an LLM judge on an OpenAI-compatible endpoint (--judge-url, key in the variable named by
                       --judge-key-env, default OPENAI_API_KEY); --reference adds the expected outputs to its prompt
  --strategy <s>       mean_l1_norm, max_l1_norm (default), mean_grad_input, max_grad_input
  --top-k <k>          predecessors kept per call in the attribution graph (default 1)
  --device <d>         auto (default), cpu, cuda, webgpu
  --json               print the report as JSON
${BACKEND_OPTIONS_HELP}
                       (--model is then a name the backends resolve, e.g. chord-retrieval or org/name)

Without a verdict option, weights and graphs are computed but nothing is blamed (no trace is known to be wrong).
Exit status: 0 done, 1 the model failed, 2 bad input (the message names the file, line or field).`;

export const blameCommand: Command = {
  name: 'blame',
  summary: 'weights, verdicts and the backward pass for a run (e.g. an imported trace); prints the blame',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseOptions('blame', {
      args,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        loss: { type: 'string' },
        reference: { type: 'string' },
        metric: { type: 'string' },
        'judge-model': { type: 'string' },
        'judge-url': { type: 'string' },
        'judge-key-env': { type: 'string' },
        strategy: { type: 'string', default: 'max_l1_norm' },
        'top-k': { type: 'string' },
        device: { type: 'string', default: 'auto' },
        'cache-dir': { type: 'string' },
        json: { type: 'boolean' },
        ...BACKEND_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new CliError("blame: expected one run folder (see 'agentchord blame --help')");
    const runDir = resolve(positionals[0]);
    try {
      RunFolder.open(runDir);
    } catch (err) {
      throw new CliError(`blame: ${(err as Error).message}`);
    }
    const strategy = values.strategy as AttributionStrategy;
    if (!ATTRIBUTION_STRATEGIES.includes(strategy)) throw new CliError(`blame: --strategy: expected ${ATTRIBUTION_STRATEGIES.join(', ')}, got '${values.strategy}'`);
    const topK = positiveInt('blame', '--top-k', values['top-k']) ?? 1;
    const device = parseDeviceChoice(values.device ?? 'auto');
    if (!device) throw new CliError(`blame: --device: expected auto, cpu, cuda or webgpu, got '${values.device}'`);
    const remote = remoteModelsFor('blame', values);
    // On remote backends the model is a name there (a local folder's name stands for it); here it must be a folder.
    let modelPath = remote && values.model && !existsSync(values.model) ? values.model : values.model ? resolve(values.model) : embeddedModelDir('chord-retrieval');
    // Here, a repository id (org/name, as in agentchord.yaml) is the model cache's folder for it.
    const ref = !remote && values.model && !existsSync(values.model) ? parseModelRef(values.model) : undefined;
    if (ref) {
      modelPath = modelFolder(ref.repo, ref.revision);
      if (!existsSync(modelPath)) throw new CliError(`blame: --model: ${values.model} is neither a folder nor a pulled model (${modelPath}); run: agentchord model pull ${ref.repo}`);
    }
    if (!modelPath || (!remote && (!existsSync(modelPath) || !statSync(modelPath).isDirectory()))) throw new CliError(`blame: --model: model folder not found: ${modelPath ?? '(the embedded chord-retrieval is missing)'}`);
    // The backend flags (a string array) are not verdict options.
    const verdicts = verdictSource({ ...values, backend: undefined });

    ort.env.logLevel = 'fatal';
    const models = remote ?? inProcessModels({ cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : defaultCacheDir() });
    const controller = new AbortController();
    const cancel = () => controller.abort(new Error('cancelled'));
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    const progress = progressLine(process.stderr);
    try {
      const result = await blameRun(runDir, {
        modelPath,
        ...(ref ? { modelName: ref.repo } : {}),
        device,
        models,
        strategy,
        topK,
        verdicts,
        signal: controller.signal,
        onProgress: (done, total, callId) => progress.update(`blame: ${callId}`, done, total),
      });
      progress.clear();
      const summary = summarizeRun(RunFolder.open(runDir).read());
      if (values.json) process.stdout.write(JSON.stringify({ ...summary, unjudged: result.unjudged }, null, 2) + '\n');
      else {
        process.stdout.write(formatSummary(summary) + '\n');
        if (verdicts.kind === 'none') process.stdout.write('\nno verdicts given (--loss, --reference or --judge-model): weights computed, nothing blamed\n');
        else if (result.unjudged.length) process.stdout.write(`\n${result.unjudged.length} trace(s) had no verdict: not blamed\n`);
      }
      return 0;
    } catch (err) {
      progress.clear();
      if (controller.signal.aborted) {
        process.stderr.write('blame: cancelled; the run folder is unchanged\n');
        return 130;
      }
      if (err instanceof TraceError) throw new CliError(`blame: ${err.message}`);
      throw new CliError(`blame: ${(err as Error).message}`, 1);
    } finally {
      process.removeListener('SIGINT', cancel);
      process.removeListener('SIGTERM', cancel);
      await models.dispose();
    }
  },
};

function verdictSource(values: Record<string, string | boolean | undefined>): VerdictSource {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const loss = str('loss');
  const reference = str('reference');
  const judgeModel = str('judge-model');
  if (loss && (reference || judgeModel)) throw new CliError('blame: give --loss, or --reference / --judge-model, not both');
  if (loss) return { kind: 'loss-file', file: resolve(loss) };
  if (judgeModel) {
    const url = str('judge-url');
    if (!url) throw new CliError('blame: --judge-model needs --judge-url <OpenAI-compatible base URL>');
    const keyEnv = str('judge-key-env') ?? 'OPENAI_API_KEY';
    const provider = new OpenAIProvider({ baseUrl: url, model: judgeModel, apiKeyEnv: keyEnv, resolveApiKey: envApiKeyResolver });
    return { kind: 'judge', provider, ...(reference ? { referenceFile: resolve(reference) } : {}) };
  }
  if (reference) {
    const metric = str('metric') ?? 'contains';
    if (!REFERENCE_METRICS.includes(metric)) throw new CliError(`blame: --metric: expected ${REFERENCE_METRICS.join(', ')}, got '${metric}'`);
    return { kind: 'reference', file: resolve(reference), metric: metric as 'contains' };
  }
  if (str('metric')) throw new CliError('blame: --metric goes with --reference');
  return { kind: 'none' };
}
