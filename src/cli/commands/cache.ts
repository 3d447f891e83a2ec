/**
 * `agentchord cache [info|clear] [dir] [--responses] [--graphs]`: what the caches hold, and emptying them. Two caches:
 * the response cache of a system (`<dir>/.agentchord/cache`: model answers, so a re-run costs nothing) and the
 * compiled-graph cache of this user (`$AGENTCHORD_CACHE/graphs`, default ~/.cache/agentchord: ONNX graphs built from
 * model folders, and the device probe's memory). Downloaded models and GPU runtimes in the same folder are not caches
 * of this kind and are never touched here.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { cacheDirFor } from '../../core/llm/cache';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord cache info [dir]
       agentchord cache clear [dir] [--responses] [--graphs]

  info      the size of each cache
  clear     empties the response cache of the system in dir (default .) and the compiled-graph cache; with
            --responses or --graphs, only that one. Compiled graphs are rebuilt on the next load (seconds);
            cleared responses are asked again (model calls, tokens, cost).

  response cache   <dir>/.agentchord/cache (per system; \`run\` and \`optimize\` also take --no-cache)
  graph cache      \${AGENTCHORD_CACHE:-~/.cache/agentchord}/graphs and its device-probe file`;

/** The graph cache's entries: the graphs folder and the device probe's memory (src/backend/runtime/device.ts). */
const GRAPH_CACHE_ENTRIES = ['graphs', 'device-probe.json'];

function sizeOf(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + sizeOf(join(path, name)), 0);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export const cacheCommand: Command = {
  name: 'cache',
  summary: 'show or clear the response cache and the compiled-graph cache',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseOptions('cache', {
      args,
      allowPositionals: true,
      options: { responses: { type: 'boolean' }, graphs: { type: 'boolean' } },
    });
    const [action, dir = '.', ...extra] = positionals;
    if (action !== 'info' && action !== 'clear') throw new CliError("cache: expected 'info' or 'clear' (see 'agentchord cache --help')");
    if (extra.length) throw new CliError(`cache: unexpected argument '${extra[0]}'`);
    const responses = cacheDirFor(resolve(dir));
    const graphRoot = defaultCacheDir();
    const graphs = GRAPH_CACHE_ENTRIES.map((name) => join(graphRoot, name));
    const graphBytes = graphs.reduce((n, p) => n + sizeOf(p), 0);
    if (action === 'info') {
      process.stdout.write(`response cache: ${responses} (${mb(sizeOf(responses))})\ngraph cache:    ${join(graphRoot, 'graphs')} (${mb(graphBytes)})\n`);
      return 0;
    }
    const both = !values.responses && !values.graphs;
    if (both || values.responses) {
      const bytes = sizeOf(responses);
      rmSync(responses, { recursive: true, force: true });
      process.stdout.write(`cleared the response cache ${responses} (${mb(bytes)})\n`);
    }
    if (both || values.graphs) {
      for (const p of graphs) rmSync(p, { recursive: true, force: true });
      process.stdout.write(`cleared the graph cache ${join(graphRoot, 'graphs')} (${mb(graphBytes)})\n`);
    }
    return 0;
  },
};
