/**
 * Benchmark runner (started by scripts/bench.mjs, which builds the project first):
 *   node bench/lib/runTs.mjs bench/main.ts [attribution|generation|all] [--repeat N] [--device cpu|cuda|webgpu]
 * Prints a table per benchmark, then one JSON line, and writes bench/results/latest.json. Asserts nothing.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { attributionVsTorch } from './attribution/vsTorch';
import { prefixTrick } from './attribution/prefix';
import { generation } from './generation/generation';
import { graphUi } from './ui/graph';
import { extensionActivation } from './ui/activation';
import { decorateUi } from './ui/decorate';
import { blameAccuracy } from './blame/blame';
import { scaleBenchmark } from './scale/scale';
import { poolThroughput } from './pool/pool';
import { BENCH_MODEL, BENCH_MODEL_NAME } from './lib/benchModel';
import type { BenchContext } from './lib/context';
import { ensureModel } from './lib/models';
import { writeFileAtomicSync as writeFileAtomic } from '../src/shared/atomicWrite';
import { printTable, type BenchResult } from './lib/report';
import { oursSide, torchSide } from './lib/sides';

type Bench = (ctx: BenchContext) => Promise<BenchResult>;

/** Named groups: `npm run bench <group>`; no name runs them all. */
const GROUPS: Record<string, Bench[]> = {
  attribution: [attributionVsTorch, prefixTrick],
  generation: [generation],
  ui: [graphUi, decorateUi, extensionActivation],
  blame: [blameAccuracy],
  scale: [scaleBenchmark],
  pool: [poolThroughput],
};

async function main(): Promise<number> {
  const usage = `usage: npm run bench [${Object.keys(GROUPS).join('|')}|all] [-- --repeat N] [--device cpu|cuda|webgpu]\n`;
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { repeat: { type: 'string', default: '2' }, device: { type: 'string', default: 'cpu' } },
    });
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    return 2;
  }
  const { values, positionals: names } = parsed;
  const repeat = Number(values.repeat);
  const unknown = names.filter((n) => n !== 'all' && !(n in GROUPS));
  if (unknown.length || !(repeat >= 1) || !['cpu', 'cuda', 'webgpu'].includes(values.device!)) {
    process.stderr.write(usage);
    return 2;
  }
  // `all` leaves out scale: it takes tens of minutes (the reference needs minutes per request at that size).
  const selected = names.length === 0 || names.includes('all') ? Object.entries(GROUPS).filter(([k]) => k !== 'scale').flatMap(([, b]) => b) : names.flatMap((n) => GROUPS[n]!);

  const ctx: BenchContext = {
    ours: oursSide(values.device!), torch: torchSide(), repeat, modelDir: ensureModel(BENCH_MODEL_NAME, BENCH_MODEL), device: values.device!,
  };
  for (const side of [ctx.ours, ctx.torch]) {
    if (side.unavailable) process.stdout.write(`warning: ${side.name} will not be measured: ${side.unavailable}\n`);
  }
  const loadBefore = loadavg()[0]!;
  if (loadBefore > cpus().length) {
    process.stdout.write(`warning: load average ${loadBefore.toFixed(1)} on ${cpus().length} cores: other processes compete, times are inflated\n`);
  }
  const results: BenchResult[] = [];
  for (const bench of selected) {
    const result = await bench(ctx);
    printTable(result);
    results.push(result);
  }
  const summary = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version,
      loadAverageBefore: loadBefore, loadAverageAfter: loadavg()[0]! },
    repeat,
    device: values.device,
    results: Object.fromEntries(results.map((r) => [r.name, { metrics: r.metrics, notes: r.notes }])),
  };
  const line = JSON.stringify(summary);
  process.stdout.write('\n' + line + '\n');
  const dir = resolve('bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'latest.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(`wrote bench/results/latest.json\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
