/**
 * `npm run bench:blame`: does the top-1 block of the engine's connection weights name the agent the answer came
 * from? Over the shipped cases (models/chord-retrieval/cases.json) and cases generated in the same format (seeded),
 * each run through the real engine path (./cases.ts), per strategy, beside the recency (last block) and random
 * baselines, and the exact match of the model's greedy answers (results: docs/blame-benchmark.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { STRATEGY_FIELD } from '../../src/core/engine/attribution';
import { inProcessModels } from '../../src/backend/inProcess';
import { ATTRIBUTION_STRATEGIES } from '../../src/core/system/types';
import type { BenchContext } from '../lib/context';
import type { BenchResult } from '../lib/report';
import { generateCases, loadShippedCases, runCase, type CaseRun } from './cases';

export const GENERATED_CASES = 80;
export const GENERATED_SEED = 1;

/** Share of `runs` whose top-1 block (under each strategy), or baseline, is the source block. */
export function accuracy(runs: CaseRun[]) {
  const share = (hits: number) => (runs.length ? hits / runs.length : 0);
  const top1 = Object.fromEntries(
    ATTRIBUTION_STRATEGIES.map((strategy) => {
      const hits = runs.filter((r) => {
        const connections = r.attribution.connections ?? {};
        const weights = r.call.blocks.map((b) => (connections[b.id]?.[STRATEGY_FIELD[strategy]] as number | undefined) ?? -Infinity);
        return weights.indexOf(Math.max(...weights)) === r.case.source;
      }).length;
      return [strategy, share(hits)];
    }),
  );
  return {
    cases: runs.length,
    top1,
    recency: share(runs.filter((r) => r.case.source === r.case.lines.length - 1).length),
    // The expected hit rate of a uniformly random block, exactly (not one draw).
    random: share(runs.reduce((s, r) => s + 1 / r.case.lines.length, 0)),
    exactMatch: share(runs.filter((r) => r.call.output === r.case.answer).length),
  };
}

export async function blameAccuracy(_ctx?: BenchContext): Promise<BenchResult> {
  const model = resolve('models', 'chord-retrieval');
  const shipped = loadShippedCases(join(model, 'cases.json'));
  const cases = [...shipped, ...generateCases(shipped, GENERATED_CASES, GENERATED_SEED)];
  const work = mkdtempSync(join(tmpdir(), 'agentchord-bench-blame-'));
  const backend = inProcessModels({ cacheDir: join(work, 'graphs') });
  const runs: CaseRun[] = [];
  try {
    for (const c of cases) runs.push(await runCase(c, join(work, c.id), model, backend));
  } finally {
    await backend.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  const unavailable = runs.filter((r) => r.attribution.status !== 'ok');
  const groups = {
    shipped: accuracy(runs.filter((r) => r.case.origin === 'shipped')),
    generated: accuracy(runs.filter((r) => r.case.origin === 'generated')),
    all: accuracy(runs),
  };
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const header = `(shipped ${groups.shipped.cases} / generated ${groups.generated.cases} / all ${groups.all.cases})`;
  const row = (label: string, get: (g: ReturnType<typeof accuracy>) => number): [string, string] => [
    label,
    `${pct(get(groups.shipped))} / ${pct(get(groups.generated))} / ${pct(get(groups.all))}`,
  ];
  const rows: Array<[string, string]> = [
    ['cases', header],
    ...ATTRIBUTION_STRATEGIES.map((s) => row(`top-1 = source, ${s}`, (g) => g.top1[s])),
    row('recency baseline (last block)', (g) => g.recency),
    row('random baseline (expected)', (g) => g.random),
    row('exact match of greedy answers', (g) => g.exactMatch),
  ];
  const metrics: Record<string, number> = {};
  for (const [group, g] of Object.entries(groups)) {
    for (const s of ATTRIBUTION_STRATEGIES) metrics[`${group}.top1.${s}`] = g.top1[s];
    metrics[`${group}.recency`] = g.recency;
    metrics[`${group}.random`] = g.random;
    metrics[`${group}.exactMatch`] = g.exactMatch;
    metrics[`${group}.cases`] = g.cases;
  }
  return {
    name: 'blame',
    title: 'Blame accuracy on models/chord-retrieval: top-1 block = source block, shipped / generated / all',
    rows,
    metrics,
    notes: [
      `shipped: models/chord-retrieval/cases.json; generated: ${GENERATED_CASES} cases in the same format from its vocabulary (seed ${GENERATED_SEED}, bench/blame/cases.ts)`,
      'each case runs the engine path: replay reporters -> answerer with input format lines -> block map -> token ranges -> in-process backend (float32); the attributed output is the model\'s own greedy answer',
      ...(unavailable.length ? [`${unavailable.length} case(s) without weights: ${unavailable.map((r) => `${r.case.id} (${r.attribution.reason})`).join('; ')}`] : []),
    ],
  };
}
