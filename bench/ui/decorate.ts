/**
 * UI benchmark: preparing token-saliency decorations for a 20k-token trace (align pieces to the text, group, bucket,
 * compute line/column positions: everything the editor does before its one setDecorations per bucket), as a ratio
 * to the same for a 2k-token trace measured in the same run. Linear work gives about 10x. Asserts nothing.
 */
import { performance } from 'node:perf_hooks';
import { aggregate, bucketize, type Granularity, type SalientToken } from '../../src/extension/pure/saliency/aggregate';
import { placeCallTokens } from '../../src/extension/pure/saliency/tokenAlign';
import type { BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { fmt, type BenchResult } from '../lib/report';

const WORDS = ['the', 'little', 'girl', 'found', 'a', 'red', 'ball', 'in', 'park', 'and', 'smiled', 'Lily', 'Tom', 'car'];

/** A trace of `n` SentencePiece-style tokens: text, pieces (some words split, a newline every ~12 tokens), saliency. */
function syntheticTrace(n: number): { text: string; pieces: string[]; l1: number[]; gradInput: number[] } {
  const pieces: string[] = [];
  let text = '';
  for (let i = 0; pieces.length < n; i++) {
    const word = WORDS[(i * 7 + 3) % WORDS.length];
    if (i % 12 === 11) {
      pieces.push('<0x0A>');
      text += '\n';
    }
    const first = i % 12 === 11 || i === 0 ? word : ` ${word}`;
    if (word.length > 4 && pieces.length + 1 < n) {
      pieces.push(first.slice(0, -2).replace(' ', '▁'), word.slice(-2));
    } else {
      pieces.push(first.replace(' ', '▁'));
    }
    text += first;
  }
  const cut = pieces.slice(0, n);
  const l1 = cut.map((_, i) => ((i * 2654435761) % 1000) / 1000);
  return { text, pieces: cut, l1, gradInput: l1.map((x, i) => (i % 2 ? x : -x)) };
}

/** What the editor computes once per trace and granularity. */
function prepare(trace: ReturnType<typeof syntheticTrace>, granularity: Granularity): number {
  const placed = placeCallTokens(trace.pieces, trace.text, 0, '');
  const tokens: SalientToken[] = placed.map((p) => ({ start: p.start, end: p.end, l1: trace.l1[p.index], gradInput: trace.gradInput[p.index], piece: trace.pieces[p.index] }));
  return bucketize(aggregate(tokens, trace.text, granularity), trace.text).reduce((n, b) => n + b.length, 0);
}

function time(trace: ReturnType<typeof syntheticTrace>, granularity: Granularity, repeat: number): { ms: number; spans: number } {
  let spans = prepare(trace, granularity); // warm-up
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    spans = prepare(trace, granularity);
    times.push(performance.now() - start);
  }
  return { ms: median(times), spans };
}

export async function decorateUi(ctx: BenchContext): Promise<BenchResult> {
  const repeat = Math.max(5, ctx.repeat);
  const small = syntheticTrace(2_000);
  const large = syntheticTrace(20_000);
  const rows: Array<[string, string]> = [];
  const metrics: Record<string, number> = {};
  for (const g of ['token', 'word', 'line'] as Granularity[]) {
    const ref = time(small, g, repeat);
    const big = time(large, g, repeat);
    rows.push([`${g}: 2k tokens (reference)`, `${ref.ms.toFixed(2)} ms, ${ref.spans} ranges`]);
    rows.push([`${g}: 20k tokens`, `${big.ms.toFixed(2)} ms, ${big.spans} ranges (${fmt.ratio(big.ms / ref.ms)} the reference)`]);
    metrics[`${g}ReferenceMs`] = ref.ms;
    metrics[`${g}Ms`] = big.ms;
    metrics[`${g}Ratio`] = big.ms / ref.ms;
  }
  return {
    name: 'ui-decorate',
    title: `Token saliency decorations: 20k vs 2k tokens (median of ${repeat})`,
    rows,
    metrics,
    notes: [
      'Ratios to the 2k-token reference from the same run; about 10x is linear.',
      'Not included: creating vscode.Range objects and the 5 setDecorations calls (they need a running VS Code).',
    ],
  };
}
