/**
 * Ours against PyTorch eager, same model, same requests, same threads, float32: whole-process wall time and peak
 * RSS of `agentchord attribute` vs bench/reference/torch_attribute.py, both doing the prefix-cached forward+backward.
 * Also checks that the two answers agree.
 */
import { BENCH_MODEL, BENCH_MODEL_LABEL } from '../lib/benchModel';
import { maxRelativeDifference } from '../lib/compare';
import { runSides, writeRequestFile, type BenchContext } from '../lib/context';
import { fmt, ratio, type BenchResult } from '../lib/report';
import { randomRequest } from '../lib/requests';

export const REQUESTS = { count: 4, length: 1024, prefixLength: 768, targets: 64, spanCount: 4 };

export function attributionRequestFile(): string {
  const requests = Array.from({ length: REQUESTS.count }, (_, k) =>
    randomRequest({ ...REQUESTS, vocabSize: BENCH_MODEL.vocabSize, seed: 1000 + k }));
  return writeRequestFile('attribution-4x1024', requests);
}

export async function attributionVsTorch(ctx: BenchContext): Promise<BenchResult> {
  const file = attributionRequestFile();
  const notes = [ctx.ours, ctx.torch].filter((s) => s.unavailable).map((s) => `${s.name} not measured: ${s.unavailable}`);
  const { ours, torch } = await runSides(ctx, ctx.modelDir, file, ctx.repeat);
  const agreement = ours && torch ? maxRelativeDifference(ours.last.results, torch.last.results) : undefined;
  const timeRatio = ratio(ours?.wallSeconds, torch?.wallSeconds);
  const rssRatio = ratio(ours?.peakRssMiB, torch?.peakRssMiB);
  return {
    name: 'attribution',
    title: `Attribution: agentchord vs PyTorch eager (${ctx.repeat} timed run(s), medians)`,
    rows: [
      ['model', BENCH_MODEL_LABEL],
      ['requests', `${REQUESTS.count} x ${REQUESTS.length} tokens, prefix ${REQUESTS.prefixLength}, last ${REQUESTS.targets} are targets, ${REQUESTS.spanCount} spans`],
      [`ours: ${ctx.ours.name}, wall`, fmt.s(ours?.wallSeconds)],
      [`torch: ${ctx.torch.name}, wall`, fmt.s(torch?.wallSeconds)],
      ['torch in-process (load / compute)', `${fmt.s(torch?.innerLoadSeconds)} / ${fmt.s(torch?.innerRunSeconds)}`],
      ['time ratio ours / torch', fmt.ratio(timeRatio)],
      ['ours peak RSS', fmt.mib(ours?.peakRssMiB)],
      ['torch peak RSS', fmt.mib(torch?.peakRssMiB)],
      ['peak RSS ratio ours / torch', fmt.ratio(rssRatio)],
      ['max relative difference', fmt.sci(agreement)],
    ],
    metrics: {
      oursWallSeconds: ours?.wallSeconds ?? null,
      torchWallSeconds: torch?.wallSeconds ?? null,
      torchInnerLoadSeconds: torch?.innerLoadSeconds ?? null,
      torchInnerComputeSeconds: torch?.innerRunSeconds ?? null,
      timeRatio: timeRatio ?? null,
      oursPeakRssMiB: ours?.peakRssMiB ?? null,
      torchPeakRssMiB: torch?.peakRssMiB ?? null,
      peakRssRatio: rssRatio ?? null,
      maxRelativeDifference: agreement ?? null,
    },
    notes,
  };
}
