/**
 * `agentchord optimize [dir] [...]`: the GBC batch loop on a system's training split (see src/core/engine/loop.ts).
 * Prints the pre-flight estimate, a progress bar (TTY only), what each step did and where the proposals are.
 * Prompt files are not touched: review and apply with `agentchord apply <run>`.
 */
import * as ort from 'onnxruntime-node';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { makeAttributor } from '../../core/engine/attribution';
import { inProcessModels } from '../../backend/inProcess';
import { BACKEND_OPTIONS, BACKEND_OPTIONS_HELP, remoteModelsFor } from '../remoteBackends';
import { formatEstimate } from '../../core/engine/estimate';
import { optimize, type OptimizeResult } from '../../core/engine/loop';
import { makeModelResolver } from '../../core/engine/models';
import { envApiKeyResolver } from '../../core/llm/openaiProvider';
import { resolve } from 'node:path';
import { SYSTEM_FILE_NAME } from '../../core/system';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { progressLine } from './progressLine';
import { parseOptions } from '../parseOptions';
import { loadSystemOrThrow, positiveInt, positiveNumber } from '../options';

const HELP = `Usage: agentchord optimize [dir] [options]

Runs GBC optimization: batches of training samples run forward with connection weights, the verbal loss is
propagated back along the attribution graph, and the optimizer proposes new prompts for the blamed agents.
Proposals are written to the run folder (.agentchord/runs/<run>/proposals/); prompt files are never changed:
review and apply them with 'agentchord apply <run>'.

  dir                     a folder holding ${SYSTEM_FILE_NAME}, or the file itself (default: .)
  --split <s>             train (default), validation or test
  --steps <n>             optimization steps (default: optimizer.steps)
  --batch-size <n>        samples per step (default: optimizer.batchSize)
  --no-acceptance-test    keep every proposal, without checking the validation score
  --resume <run>          continue a stopped run (budget, crash, Ctrl-C) from its checkpoint
  --max-calls <n>         make at most this many model requests (cache hits and replay models do not count;
                          overrides optimizer.budget)
  --max-tokens <n>        stop cleanly after this many tokens
  --max-cost <usd>        ... after this much spending; every endpoint model needs a known price (price: in
                          ${SYSTEM_FILE_NAME}, or the built-in list), else the run does not start
  --no-cache              ask every model again (the response cache is neither read nor written)
${BACKEND_OPTIONS_HELP}
  --json                  print the result as JSON

A run is written by one process at a time: a second --resume of a run that is still running fails.
Exit status: 0 completed, 3 stopped by the budget (resumable), 1 failed, 2 bad usage, 130 cancelled.`;

export const optimizeCommand: Command = {
  name: 'optimize',
  summary: 'optimize prompts with GBC: forward, blame, backward, propose (writes proposals only)',
  help: HELP,
  run: (args) => runOptimize(args, (text) => void process.stdout.write(text)),
};

/** The command, printing its result through `out` (tests capture it); the estimate and progress go to stderr. */
export async function runOptimize(args: string[], out: (text: string) => void): Promise<number> {
  const { values, positionals } = parse(args);
  if (positionals.length > 1) throw new CliError(`optimize: expected at most one folder or file, got ${positionals.length}`);
  const system = loadSystemOrThrow('optimize', positionals[0] ?? '.');
  const json = values.json === true;

  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('cancelled (Ctrl-C)'));
  const onSigterm = () => controller.abort(new Error('cancelled (SIGTERM)'));
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  const split = values.split as 'train' | 'validation' | 'test';
  if (!['train', 'validation', 'test'].includes(split)) throw new CliError(`optimize: --split: expected train, validation or test, got '${values.split}'`);
  // ORT's own log repeats at length why a GPU provider failed to load; the runtime says it in one line.
  ort.env.logLevel = 'fatal';
  const backend = remoteModelsFor('optimize', values, system.attribution.backends) ?? inProcessModels({ cacheDir: defaultCacheDir() });
  const bar = progressLine();
  try {
    const attributor = makeAttributor(system, backend);
    const result = await optimize({
      system,
      split,
      steps: positiveInt('optimize', '--steps', values.steps),
      batchSize: positiveInt('optimize', '--batch-size', values['batch-size']),
      acceptanceTest: values['no-acceptance-test'] ? false : undefined,
      budget: {
        maxCalls: positiveInt('optimize', '--max-calls', values['max-calls']),
        maxTokens: positiveInt('optimize', '--max-tokens', values['max-tokens']),
        maxCostUsd: positiveNumber('optimize', '--max-cost', values['max-cost']),
      },
      resume: values.resume ? resolve(values.resume) : undefined,
      models: makeModelResolver(system, { apiKey: envApiKeyResolver, localModels: backend, ...(values['no-cache'] ? { cacheDir: false as const } : {}) }),
      attributor,
      noAttributionReason: attributor ? undefined : `${system.file}: no attribution.model is set (a provider: local model)`,
      signal: controller.signal,
      onEstimate: (e) => {
        if (!json) process.stderr.write(`agentchord: ${formatEstimate(e)}\n`);
      },
      onProgress: (p) => bar.update(p.message, p.done, p.total),
    });
    bar.clear();
    print(result, json, out);
    return { completed: 0, budget_exhausted: 3, cancelled: 130, failed: 1, running: 1 }[result.status];
  } catch (err) {
    bar.clear();
    if (err instanceof CliError) throw err;
    throw new CliError(`optimize: ${err instanceof Error ? err.message : String(err)}`, 1);
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
    await backend.dispose();
  }
}

function print(r: OptimizeResult, json: boolean, write: (text: string) => void): void {
  const manifest = r.folder.current;
  if (json) {
    const out = {
      run: r.folder.dir,
      status: r.status,
      stepsDone: r.stepsDone,
      stopReason: r.stopReason,
      proposals: r.proposals,
      history: r.history.map((h) => ({ step: h.step, score: h.score })),
      usage: manifest.usage,
      estimate: r.estimate,
      log: r.log,
    };
    write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  for (const line of r.log) write(line + '\n');
  const u = manifest.usage;
  write(`run ${r.folder.dir}: ${r.status}${r.stopReason ? ` (${r.stopReason})` : ''}; ${u.calls} model calls, ${u.promptTokens + u.completionTokens} tokens\n`);
  if (r.status === 'budget_exhausted' || r.status === 'cancelled') {
    write(`resume with: agentchord optimize ${manifest.systemFile} --resume ${r.folder.dir}\n`);
  }
  if (r.proposals.length) write(`review and apply with: agentchord apply ${r.folder.dir}\n`);
}

function parse(args: string[]) {
  return parseOptions('optimize', {
    args,
    allowPositionals: true,
    options: {
      split: { type: 'string', default: 'train' },
      steps: { type: 'string' },
      'batch-size': { type: 'string' },
      'no-acceptance-test': { type: 'boolean' },
      resume: { type: 'string' },
      'max-calls': { type: 'string' },
      'max-tokens': { type: 'string' },
      'max-cost': { type: 'string' },
      'no-cache': { type: 'boolean' },
      json: { type: 'boolean' },
      ...BACKEND_OPTIONS,
    },
  });
}

