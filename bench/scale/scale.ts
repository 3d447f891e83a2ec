/**
 * Attribution at the size users need (issue 11): the Qwen3-0.6B-shaped model with BF16 weights, one request of 2048
 * tokens (prefix 1024, 128 targets) and one of 4096 (prefix 2048, 256 targets), each as a whole process of ours and of
 * the PyTorch reference, alternating; plus ours on 3072 tokens with the 2048-token request's prefix (the tail doubled),
 * and the machine's sgemm peak measured in the same run. Prints; asserts nothing.
 */
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { Graph, serialize } from '../../src/backend/onnx';
import type { RandomModelSpec } from '../../src/backend/model/randomModel';
import { maxRelativeDifference } from '../lib/compare';
import { writeRequestFile, type BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { ensureModel } from '../lib/models';
import { fmt, ratio, type BenchResult } from '../lib/report';
import { randomRequest } from '../lib/requests';
import type { Side, SideRun } from '../lib/sides';
import { SCALE_MODEL, SCALE_MODEL_LABEL, SCALE_MODEL_NAME } from './scaleModel';

interface ScaleRequest {
  name: string;
  length: number;
  prefixLength: number;
  targets: number;
  /** Also run the reference (the tail-doubling request is ours only). */
  reference: boolean;
  /** The reference's extra arguments. */
  referenceArgs?: string[];
}

export const SCALE_REQUESTS: ScaleRequest[] = [
  { name: '2048', length: 2048, prefixLength: 1024, targets: 128, reference: true },
  // The plain eager pass keeps every layer's [16, 2048, 4096] probabilities for the backward pass and was killed for
  // memory at 24 GiB (exit 137): the reference checkpoints each layer (torch.utils.checkpoint), as a PyTorch user would.
  { name: '4096', length: 4096, prefixLength: 2048, targets: 256, reference: true, referenceArgs: ['--checkpoint'] },
  { name: '3072-tail-doubled', length: 3072, prefixLength: 1024, targets: 128, reference: false },
];

/**
 * The work an attribution request needs, in FLOPs (multiply-adds count 2), as the issue counts it: the forward pass
 * over all tokens (causal attention), the input-gradient backward pass over the tail (projections once, attention's
 * four products against the keys each tail row sees), and the LM head on the target rows, forward and backward.
 * Recomputation is not counted: this is the floor any implementation has to do.
 */
export function attributionFlops(s: RandomModelSpec, r: { length: number; prefixLength: number; targets: number }): number {
  const hd = s.headDim ?? s.hiddenSize / s.numHeads;
  const perTokenLinear = 2 * (s.hiddenSize * (s.numHeads + 2 * s.numKvHeads) * hd + s.numHeads * hd * s.hiddenSize + 3 * s.hiddenSize * s.intermediateSize);
  const [n, p] = [r.length, r.prefixLength];
  const t = n - p;
  const attentionPair = 2 * s.numHeads * hd; // one product of a query row with one key row (scores or values)
  const forward = s.numLayers * (n * perTokenLinear + 2 * attentionPair * (n * (n + 1)) / 2);
  const seenByTail = t * p + (t * (t + 1)) / 2;
  const backward = s.numLayers * (t * perTokenLinear + 4 * attentionPair * seenByTail);
  const head = 2 * 2 * r.targets * s.hiddenSize * s.vocabSize;
  return forward + backward + head;
}

/** Best GFLOP/s of an ONNX Runtime MatMul over the model's layer shapes (2048 rows), on all cores. */
async function sgemmPeakGflops(s: RandomModelSpec): Promise<number> {
  const hd = s.headDim ?? s.hiddenSize / s.numHeads;
  const shapes: Array<[number, number, number]> = [
    [2048, s.hiddenSize, s.intermediateSize],
    [2048, s.intermediateSize, s.hiddenSize],
    [2048, s.hiddenSize, s.numHeads * hd],
  ];
  let best = 0;
  for (const [m, k, n] of shapes) {
    const g = new Graph('sgemm');
    g.output(g.matmul(g.input('a', 'float32', [m, k]), g.input('b', 'float32', [k, n])), 'y');
    const session = await ort.InferenceSession.create(serialize(g), { intraOpNumThreads: cpus().length, interOpNumThreads: 1 });
    const feeds = {
      a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, (_, i) => ((i * 7919) % 1000) / 1000), [m, k]),
      b: new ort.Tensor('float32', Float32Array.from({ length: k * n }, (_, i) => ((i * 104729) % 1000) / 1000), [k, n]),
    };
    await session.run(feeds);
    for (let rep = 0; rep < 5; rep++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.max(best, (2 * m * k * n) / ((performance.now() - t0) / 1000) / 1e9);
    }
    await session.release();
  }
  return best;
}

interface Measurement {
  runs: SideRun[];
  error?: string;
}

async function attempt(side: Side, modelDir: string, file: string, into: Measurement, extraArgs: string[] = []): Promise<void> {
  if (into.error) return;
  try {
    into.runs.push(await side.attribute(modelDir, file, extraArgs));
  } catch (err) {
    into.error = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
  }
}

const med = (m: Measurement, pick: (r: SideRun) => number | undefined): number | undefined => {
  const values = m.runs.map(pick).filter((v): v is number => v !== undefined);
  return values.length ? median(values) : undefined;
};
const gib = (mib: number | undefined) => (mib === undefined ? 'n/a' : `${(mib / 1024).toFixed(2)} GiB`);

export async function scaleBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const modelDir = ensureModel(SCALE_MODEL_NAME, SCALE_MODEL);
  const peakBefore = await sgemmPeakGflops(SCALE_MODEL);
  const files = SCALE_REQUESTS.map((r) =>
    writeRequestFile(`scale-${r.name}`, randomRequest({ ...r, spanCount: 2, vocabSize: SCALE_MODEL.vocabSize, seed: 600 + r.length })));
  const notes = [ctx.ours, ctx.torch].filter((s) => s.unavailable).map((s) => `${s.name} not measured: ${s.unavailable}`);
  const ours = SCALE_REQUESTS.map((): Measurement => ({ runs: [] }));
  const torch = SCALE_REQUESTS.map((): Measurement => ({ runs: [] }));
  // One untimed run of ours brings the model file into the page cache (the reference reads the same file).
  if (!ctx.ours.unavailable) await attempt(ctx.ours, modelDir, files[0]!, { runs: [] });
  for (let rep = 0; rep < ctx.repeat; rep++) {
    for (const [i, r] of SCALE_REQUESTS.entries()) {
      if (!ctx.ours.unavailable) await attempt(ctx.ours, modelDir, files[i]!, ours[i]!);
      if (r.reference && !ctx.torch.unavailable) await attempt(ctx.torch, modelDir, files[i]!, torch[i]!, r.referenceArgs);
    }
  }
  const peak = Math.max(peakBefore, await sgemmPeakGflops(SCALE_MODEL));

  const rows: Array<[string, string]> = [
    ['model', SCALE_MODEL_LABEL],
    ['sgemm peak (ORT MatMul, model shapes)', `${peak.toFixed(0)} GFLOP/s on ${cpus().length} cores`],
  ];
  const metrics: BenchResult['metrics'] = { sgemmPeakGflops: peak };
  SCALE_REQUESTS.forEach((r, i) => {
    const [o, t] = [ours[i]!, torch[i]!];
    const flops = attributionFlops(SCALE_MODEL, r);
    const [oWall, tWall] = [med(o, (x) => x.measured.wallSeconds), med(t, (x) => x.measured.wallSeconds)];
    const [oRss, tRss] = [med(o, (x) => x.measured.peakRssMiB), med(t, (x) => x.measured.peakRssMiB)];
    const cpu = (m: Measurement) => `${fmt.s(med(m, (x) => x.measured.userSeconds))} user, ${fmt.s(med(m, (x) => x.measured.systemSeconds))} system`;
    const agreement = o.runs.length && t.runs.length ? maxRelativeDifference(o.runs.at(-1)!.results, t.runs.at(-1)!.results) : undefined;
    const fraction = oWall === undefined ? undefined : flops / oWall / 1e9 / peak;
    const label = `${r.length} tokens (prefix ${r.prefixLength}, ${r.targets} targets)`;
    rows.push([`${label}: work`, `${(flops / 1e12).toFixed(2)} TFLOP`]);
    rows.push([`  ours wall / CPU`, `${fmt.s(oWall)} / ${cpu(o)}${o.error ? ` (failed: ${o.error})` : ''}`]);
    rows.push([`  ours peak RSS`, gib(oRss)]);
    rows.push([`  ours fraction of sgemm peak (whole process)`, fraction === undefined ? 'n/a' : `${(100 * fraction).toFixed(0)}%`]);
    if (r.reference) {
      if (r.referenceArgs?.length) rows.push([`  torch arguments`, r.referenceArgs.join(' ')]);
      rows.push([`  torch wall / CPU`, `${fmt.s(tWall)} / ${cpu(t)}${t.error ? ` (failed: ${t.error})` : ''}`]);
      rows.push([`  torch in-process load / compute`, `${fmt.s(med(t, (x) => x.inner?.loadSeconds))} / ${fmt.s(med(t, (x) => x.inner?.runSeconds.reduce((a, b) => a + b, 0)))}`]);
      rows.push([`  torch peak RSS`, gib(tRss)]);
      rows.push([`  time ratio ours / torch`, fmt.ratio(ratio(oWall, tWall))]);
      rows.push([`  max relative difference`, fmt.sci(agreement)]);
    }
    const key = `r${r.name.replace(/\W+/g, '_')}`;
    Object.assign(metrics, {
      [`${key}_teraflops`]: flops / 1e12,
      [`${key}_oursWallSeconds`]: oWall ?? null,
      [`${key}_oursUserSeconds`]: med(o, (x) => x.measured.userSeconds) ?? null,
      [`${key}_oursSystemSeconds`]: med(o, (x) => x.measured.systemSeconds) ?? null,
      [`${key}_oursPeakRssMiB`]: oRss ?? null,
      [`${key}_oursFractionOfSgemmPeak`]: fraction ?? null,
      ...(r.reference ? {
        [`${key}_torchWallSeconds`]: tWall ?? null,
        [`${key}_torchUserSeconds`]: med(t, (x) => x.measured.userSeconds) ?? null,
        [`${key}_torchSystemSeconds`]: med(t, (x) => x.measured.systemSeconds) ?? null,
        [`${key}_torchPeakRssMiB`]: tRss ?? null,
        [`${key}_timeRatio`]: ratio(oWall, tWall) ?? null,
        [`${key}_maxRelativeDifference`]: agreement ?? null,
      } : {}),
    });
    if (o.error) notes.push(`ours on ${label}: ${o.error}`);
    if (t.error) notes.push(`torch on ${label}: ${t.error}`);
  });
  const [base, doubled] = [med(ours[0]!, (x) => x.measured.peakRssMiB), med(ours[2]!, (x) => x.measured.peakRssMiB)];
  if (base !== undefined && doubled !== undefined) {
    rows.push(['tail doubled at prefix 1024 (1024 -> 2048 tail rows): ours peak RSS grows by', gib(doubled - base)]);
    metrics.tailDoublingRssGrowthMiB = doubled - base;
  }
  notes.push('the fraction of sgemm peak divides the work above by the whole process\'s wall time (start, weight loading and all)');
  return { name: 'scale', title: `Attribution at scale: agentchord vs PyTorch eager (${ctx.repeat} timed run(s) each, medians)`, rows, metrics, notes };
}
