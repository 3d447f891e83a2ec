/**
 * `agentchord run [dir]`: runs the system forward on a dataset split, attributes every agent call (connection
 * weights), writes the run folder and prints a summary. Local models and the attribution model run in this process.
 */
import { isAbsolute, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { loadDataset, type Split } from '../../core/engine/dataset';
import { makeAttributor } from '../../core/engine/attribution';
import type { SampleRun } from '../../core/engine/forward';
import { makeModelResolver } from '../../core/engine/models';
import { runSplit } from '../../core/engine/runSplit';
import { inProcessModels } from '../../backend/inProcess';
import type { RunFolder } from '../../core/engine/runFolder';
import { envApiKeyResolver } from '../../core/llm/openaiProvider';
import { CliError } from '../cliError';
import { BACKEND_OPTIONS, BACKEND_OPTIONS_HELP, remoteModelsFor } from '../remoteBackends';
import type { Command } from '../command';
import { progressLine } from './progressLine';
import { parseOptions } from '../parseOptions';
import { loadSystemOrThrow, positiveInt } from '../options';

const HELP = `Usage: agentchord run [dir] [--split train|validation|test] [--limit n] [--concurrency n] [--no-attribution] [--json]
                      [--backend tcp|tls://host:port ...]

Runs every agent of the system (agentchord.yaml in dir, default .) on each task sample of a dataset split, computes
the connection weights of every agent call with the attribution model, and writes the run folder
<dir>/.agentchord/runs/<run id>/ (calls.jsonl, attribution.jsonl, run.json). Answers are cached in
<dir>/.agentchord/cache, so running again costs nothing.

  --split <s>          train (default), validation or test
  --limit <n>          only the first n samples
  --concurrency <n>    samples in flight at once (default 4)
  --no-attribution     skip connection weights (they are recorded as unavailable)
  --no-cache           ask every model again (the response cache is neither read nor written)
  --json               print the run manifest (run.json) instead of the summary
${BACKEND_OPTIONS_HELP}

API keys are read from the environment variables named by apiKeyEnv in agentchord.yaml. Ctrl-C (or SIGTERM)
cancels the run (the run folder keeps every call finished so far and is marked cancelled).

Exit status: 0 completed, 1 failed (run.json says why: a model error, a tool or environment method past its
time-out, ...), 2 bad usage, 130 cancelled.`;

/** A path relative to the current folder when inside it (as `validate` prints paths). */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function summary(folder: RunFolder, runs: SampleRun[]): string {
  const m = folder.current;
  const attributions = runs.flatMap((r) => r.attributions);
  const count = (status: string) => attributions.filter((a) => a.status === status).length;
  const calls = runs.reduce((s, r) => s + r.calls.length, 0);
  const cached = runs.reduce((s, r) => s + r.calls.filter((c) => c.cached).length, 0);
  const reason = attributions.find((a) => a.status === 'unavailable')?.reason;
  const lines = [
    `Run ${m.id}: ${m.status}`,
    `  samples      ${runs.length} (${m.dataset.split}, ${m.dataset.file})`,
    `  calls        ${calls} (${cached} from the cache)`,
    `  tokens       ${m.usage.promptTokens} prompt + ${m.usage.completionTokens} completion`,
    `  cost         $${m.usage.costUsd.toFixed(4)}${m.unpricedModels?.length ? ` (no price known for ${m.unpricedModels.join(', ')})` : ''}`,
    `  attribution  ${count('ok')} weighted, ${count('single-block')} single-block, ${count('unavailable')} unavailable${reason ? ` (${reason})` : ''}`,
    `  run folder   ${shown(folder.dir)}`,
  ];
  return lines.join('\n');
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run the system on a dataset split and record every call with its connection weights',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const parsed = parseOptions('run', {
      args,
      options: {
        split: { type: 'string', default: 'train' },
        limit: { type: 'string' },
        concurrency: { type: 'string' },
        'no-attribution': { type: 'boolean' },
        'no-cache': { type: 'boolean' },
        json: { type: 'boolean' },
        ...BACKEND_OPTIONS,
      },
      allowPositionals: true,
    });
    const { values, positionals } = parsed;
    if (positionals.length > 1) throw new CliError(`run: expected at most one folder, got ${positionals.join(' ')}`);
    const split = values.split as Split;
    if (!['train', 'validation', 'test'].includes(split)) throw new CliError(`run: --split: expected train, validation or test, got '${values.split}'`);
    const limit = positiveInt('run', '--limit', values.limit);
    const concurrency = positiveInt('run', '--concurrency', values.concurrency) ?? 4;

    const system = loadSystemOrThrow('run', positionals[0] ?? '.');
    let samples;
    try {
      samples = loadDataset(system, split);
    } catch (err) {
      throw new CliError(`run: ${(err as Error).message}`);
    }
    if (limit !== undefined) samples = samples.slice(0, limit);

    // ORT's own log repeats at length why a GPU provider failed to load; the runtime says it in one line.
    ort.env.logLevel = 'fatal';
    // Remote backends (--backend, attribution.backends) run the local models; otherwise they run in this process.
    const backend = remoteModelsFor('run', values, system.attribution.backends) ?? inProcessModels({ cacheDir: defaultCacheDir() });
    const attributionOff = values['no-attribution'] === true;
    const attributor = attributionOff ? undefined : makeAttributor(system, backend);
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    // SIGTERM (kill, a CI time-out) cancels like Ctrl-C, so the run folder ends marked cancelled, not running.
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
    const bar = progressLine();
    let folder: RunFolder | undefined;
    let runs: SampleRun[];
    try {
      ({ folder, runs } = await runSplit({
        system,
        split,
        samples,
        onFolder: (f) => (folder = f),
        models: makeModelResolver(system, { apiKey: envApiKeyResolver, localModels: backend, ...(values['no-cache'] ? { cacheDir: false as const } : {}) }),
        attributor,
        ...(attributionOff ? { noAttributionReason: 'attribution was turned off (--no-attribution)' } : {}),
        concurrency,
        signal: controller.signal,
        onProgress: (e) => bar.update(`samples, ${e.callsDone} calls`, e.samplesDone, e.samplesTotal),
      }));
    } catch (err) {
      bar.clear();
      const where = folder ? ` (run folder: ${folder.dir})` : '';
      if (controller.signal.aborted) {
        process.stderr.write(`agentchord: run cancelled; the calls finished so far are in ${folder?.dir ?? 'no run folder'}\n`);
        return 130;
      }
      throw new CliError(`run: ${(err as Error).message}${where}`, 1);
    } finally {
      process.removeListener('SIGINT', onInterrupt);
      process.removeListener('SIGTERM', onInterrupt);
      await backend.dispose();
    }
    bar.clear();
    process.stdout.write((values.json ? JSON.stringify(folder.current, null, 2) : summary(folder, runs)) + '\n');
    return 0;
  },
};
