/** Run comparison: each sample's score in two runs, and which samples improved or regressed from run A to run B. */
import type { SampleOutcome } from '../../../core/engine/types';
import type { ComparisonRow, RunComparison } from '../../../protocol/webview';
import { byCodeUnits } from '../../../core/util/graphLayout';

/** Score differences smaller than this are noise from float formatting, not a change. */
export const SCORE_EPSILON = 1e-9;

export interface RunScores {
  id: string;
  samples: readonly SampleOutcome[];
}

export function compareRuns(a: RunScores, b: RunScores): RunComparison {
  const scoresA = scoreMap(a.samples);
  const scoresB = scoreMap(b.samples);
  const ids = [...new Set([...scoresA.keys(), ...scoresB.keys()])].sort(byCodeUnits);
  const rows = ids.map((sampleId): ComparisonRow => {
    const scoreA = scoresA.get(sampleId);
    const scoreB = scoresB.get(sampleId);
    if (scoreA === undefined) return { sampleId, scoreB, change: 'only-b' };
    if (scoreB === undefined) return { sampleId, scoreA, change: 'only-a' };
    const delta = scoreB - scoreA;
    const change = delta > SCORE_EPSILON ? 'improved' : delta < -SCORE_EPSILON ? 'regressed' : 'unchanged';
    return { sampleId, scoreA, scoreB, delta, change };
  });
  const count = (change: ComparisonRow['change']) => rows.filter((r) => r.change === change).length;
  return {
    a: a.id,
    b: b.id,
    // Regressions first (what a reviewer must look at), then improvements, each by size of the change.
    rows: rows.sort((x, y) => changeRank(x) - changeRank(y) || Math.abs(y.delta ?? 0) - Math.abs(x.delta ?? 0) || byCodeUnits(x.sampleId, y.sampleId)),
    improved: count('improved'),
    regressed: count('regressed'),
    unchanged: count('unchanged'),
    meanA: mean([...scoresA.values()]),
    meanB: mean([...scoresB.values()]),
  };
}

const CHANGE_ORDER: ComparisonRow['change'][] = ['regressed', 'improved', 'unchanged', 'only-a', 'only-b'];
const changeRank = (row: ComparisonRow) => CHANGE_ORDER.indexOf(row.change);

/** A sample outcome written twice (a resumed run) counts with its last score. */
function scoreMap(samples: readonly SampleOutcome[]): Map<string, number> {
  return new Map(samples.filter((s) => Number.isFinite(s.score)).map((s) => [s.sampleId, s.score]));
}

export function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}
