import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './measure';
import { BENCH_DIR } from './models';
import type { Side, SideRun } from './sides';

/** What every benchmark gets from the runner. */
export interface BenchContext {
  ours: Side;
  torch: Side;
  /** Timed runs per measurement (after one untimed warm-up); the median is reported. */
  repeat: number;
  modelDir: string;
  /** Our side's device: cpu (default), cuda or webgpu. The reference always runs on the CPU. */
  device: string;
}

export interface SideSummary {
  wallSeconds: number;
  peakRssMiB: number;
  /** Median seconds of the side's own compute, when it reports it. */
  innerRunSeconds?: number;
  innerLoadSeconds?: number;
  last: SideRun;
}

/** Writes a request file under .bench/requests and returns its path. */
export function writeRequestFile(name: string, requests: unknown): string {
  mkdirSync(join(BENCH_DIR, 'requests'), { recursive: true });
  const file = join(BENCH_DIR, 'requests', `${name}.json`);
  writeFileSync(file, JSON.stringify(requests));
  return file;
}

/**
 * Measures each available side on the same request file: one untimed warm-up each (graph cache, page cache), then
 * `repeat` rounds that run the sides alternately, so that load from other processes on the machine falls on both
 * alike. Returns medians of wall time and peak RSS per side (undefined for a side that cannot run).
 */
export async function runSides(sides: Record<'ours' | 'torch', Side>, modelDir: string, requestFile: string, repeat: number,
  warmUp = true): Promise<{ ours?: SideSummary; torch?: SideSummary }> {
  const keys = (['ours', 'torch'] as const).filter((k) => !sides[k].unavailable);
  const runs: Record<string, SideRun[]> = { ours: [], torch: [] };
  if (warmUp) for (const k of keys) await sides[k].attribute(modelDir, requestFile);
  for (let i = 0; i < repeat; i++) for (const k of keys) runs[k]!.push(await sides[k].attribute(modelDir, requestFile));
  const out: { ours?: SideSummary; torch?: SideSummary } = {};
  for (const k of keys) out[k] = summarise(runs[k]!);
  return out;
}

function summarise(runs: SideRun[]): SideSummary {
  const inner = runs.filter((r) => r.inner).map((r) => r.inner!);
  return {
    wallSeconds: median(runs.map((r) => r.measured.wallSeconds)),
    peakRssMiB: median(runs.map((r) => r.measured.peakRssMiB)),
    innerRunSeconds: inner.length ? median(inner.map((t) => t.runSeconds.reduce((a, b) => a + b, 0))) : undefined,
    innerLoadSeconds: inner.length ? median(inner.map((t) => t.loadSeconds)) : undefined,
    last: runs[runs.length - 1]!,
  };
}
