/**
 * The prefix trick: one 4096-token request whose last 64 tokens are the targets, run with prefixLength 3584 (the
 * prefix runs once without gradients into a KV cache) and with prefixLength 0 (everything differentiated). Reports
 * time and peak RSS ratios p=3584 / p=0, ours and, for reference, PyTorch's; and checks that both give the same
 * gradients on the shared tail.
 */
import { BENCH_MODEL } from '../lib/benchModel';
import { maxRelativeDifference } from '../lib/compare';
import { runSides, writeRequestFile, type BenchContext } from '../lib/context';
import { fmt, ratio, type BenchResult } from '../lib/report';
import { randomRequest } from '../lib/requests';
import type { AttributionResult } from '../../src/protocol/attribution';

const LENGTH = 4096;
const PREFIX = 3584;
const TARGETS = 64;

/** The p=0 result restricted to the tail [PREFIX, n) so it can be compared with the p=PREFIX result. */
function tailOf(r: AttributionResult): AttributionResult {
  return { ...r, tokens: r.tokens.slice(PREFIX) };
}

export async function prefixTrick(ctx: BenchContext): Promise<BenchResult> {
  const withPrefix = randomRequest({ length: LENGTH, prefixLength: PREFIX, targets: TARGETS, spanCount: 4, vocabSize: BENCH_MODEL.vocabSize, seed: 4096 });
  const noPrefix = { ...withPrefix, prefixLength: 0 };
  const files = { withPrefix: writeRequestFile('prefix-4096-p3584', withPrefix), noPrefix: writeRequestFile('prefix-4096-p0', noPrefix) };
  const rows: Array<[string, string]> = [['request', `${LENGTH} tokens, last ${TARGETS} are targets, p = ${PREFIX} vs p = 0`]];
  const metrics: BenchResult['metrics'] = {};
  const notes = [ctx.ours, ctx.torch].filter((s) => s.unavailable).map((s) => `${s.name} not measured: ${s.unavailable}`);
  // A warm-up on the cheaper request is enough (it fills the graph cache and the page cache for both).
  const withP = await runSides(ctx, ctx.modelDir, files.withPrefix, ctx.repeat, true);
  const noP = await runSides(ctx, ctx.modelDir, files.noPrefix, ctx.repeat, false);
  for (const key of ['ours', 'torch'] as const) {
    const p = withP[key];
    const full = noP[key];
    if (!p || !full) {
      Object.assign(metrics, { [`${key}TimeRatio`]: null, [`${key}PeakRssRatio`]: null });
      continue;
    }
    const timeRatio = ratio(p.wallSeconds, full.wallSeconds)!;
    const rssRatio = ratio(p.peakRssMiB, full.peakRssMiB)!;
    const sameTail = maxRelativeDifference(p.last.results, full.last.results.map(tailOf));
    rows.push(
      [`${key}: wall p=${PREFIX} / p=0`, `${fmt.s(p.wallSeconds)} / ${fmt.s(full.wallSeconds)} = ${fmt.ratio(timeRatio)}`],
      [`${key}: peak RSS p=${PREFIX} / p=0`, `${fmt.mib(p.peakRssMiB)} / ${fmt.mib(full.peakRssMiB)} = ${fmt.ratio(rssRatio)}`],
      [`${key}: tail gradients p=${PREFIX} vs p=0, max rel. diff`, fmt.sci(sameTail)],
    );
    if (p.innerRunSeconds !== undefined && full.innerRunSeconds !== undefined) {
      rows.push([`${key}: in-process compute p=${PREFIX} / p=0`, `${fmt.s(p.innerRunSeconds)} / ${fmt.s(full.innerRunSeconds)}`]);
    }
    Object.assign(metrics, {
      [`${key}WallSecondsPrefix`]: p.wallSeconds,
      [`${key}WallSecondsNoPrefix`]: full.wallSeconds,
      [`${key}TimeRatio`]: timeRatio,
      [`${key}PeakRssMiBPrefix`]: p.peakRssMiB,
      [`${key}PeakRssMiBNoPrefix`]: full.peakRssMiB,
      [`${key}PeakRssRatio`]: rssRatio,
      [`${key}TailMaxRelativeDifference`]: sameTail,
    });
  }
  return { name: 'prefix', title: `Prefix trick (${ctx.repeat} timed run(s), medians)`, rows, metrics, notes };
}
