import type { AttributionResult } from '../../src/protocol/attribution';

/**
 * Largest disagreement between two attribution results, each value's difference divided by the largest magnitude of
 * its kind (|logProb|, max token L1, max |token gradient·input|): a relative error that stays meaningful for values
 * near zero.
 */
/** max |x| (a loop: spreading a long call's per-token values into Math.max overflows the stack). */
const maxAbs = (xs: number[]) => xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

export function maxRelativeDifference(ours: AttributionResult[], reference: AttributionResult[]): number {
  if (ours.length !== reference.length) return Infinity;
  let worst = 0;
  const track = (a: number[], b: number[]): void => {
    if (a.length !== b.length) {
      worst = Infinity;
      return;
    }
    const scale = Math.max(maxAbs(b), Number.MIN_VALUE);
    a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[i]!) / scale)));
  };
  ours.forEach((o, k) => {
    const r = reference[k]!;
    track([o.logProb], [r.logProb]);
    const l1 = r.tokens.map((t) => t.l1);
    const gi = r.tokens.map((t) => t.gradInput);
    track(o.tokens.map((t) => t.l1), l1);
    track(o.tokens.map((t) => t.gradInput), gi);
    for (const [id, c] of Object.entries(r.connections)) {
      const oc = o.connections[id];
      if (!oc) {
        worst = Infinity;
        continue;
      }
      const l1Scale = maxAbs(l1);
      const giScale = maxAbs(gi);
      worst = Math.max(worst, Math.abs(oc.meanL1 - c.meanL1) / l1Scale, Math.abs(oc.maxL1 - c.maxL1) / l1Scale,
        Math.abs(oc.meanGradInput - c.meanGradInput) / giScale, Math.abs(oc.maxGradInput - c.maxGradInput) / giScale);
    }
  });
  return worst;
}
