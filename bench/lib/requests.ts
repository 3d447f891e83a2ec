import type { AttributionRequest, Span } from '../../src/protocol/attribution';
import { seededRandom } from '../../src/shared/random';

export { seededRandom };

export function randomIds(count: number, vocabSize: number, seed: number): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => Math.floor(next() * vocabSize));
}

/** A request of `length` random ids whose targets are the last `targets` tokens, with `spanCount` equal spans
 * covering the tail between the prefix and the targets (the blocks whose connection weights we want). */
export function randomRequest(o: { length: number; prefixLength: number; targets: number; spanCount: number; vocabSize: number; seed: number }): AttributionRequest {
  const targetStart = o.length - o.targets;
  const spans: Span[] = [];
  const width = Math.floor((targetStart - o.prefixLength) / o.spanCount);
  for (let k = 0; k < o.spanCount; k++) {
    spans.push({ id: `block${k}`, start: o.prefixLength + k * width, end: o.prefixLength + (k + 1) * width });
  }
  return { inputIds: randomIds(o.length, o.vocabSize, o.seed), prefixLength: o.prefixLength, targetStart, spans };
}
