/**
 * From per-token saliency to coloured ranges: grouping (token, word, line, block), colour buckets, and line/column
 * positions. Pure (no `vscode`), so the benchmark (bench/ui/decorate.ts) measures exactly what the editor runs.
 */

export type Granularity = 'token' | 'word' | 'line' | 'block';
export const GRANULARITIES: readonly Granularity[] = ['token', 'word', 'line', 'block'];

/** Colour levels: 5 is enough to read "hot vs cold" without a legend, and each level costs one decoration type. */
export const BUCKETS = 5;

/** One token with its saliency, placed in a document's characters. */
export interface SalientToken {
  start: number;
  end: number;
  /** sum_d |dS/de_d| */
  l1: number;
  /** sum_d dS/de_d * e_d */
  gradInput: number;
  /** The token's decoded text, for the hover. */
  piece: string;
  /** Label of the input block it lies in (or e.g. "output", "prompt"), for the hover and block grouping. */
  block?: string;
}

/** One coloured range: a token or a group of them. L1 and g·e are the means over its tokens. */
export interface SalientSpan {
  start: number;
  end: number;
  l1: number;
  gradInput: number;
  tokens: number;
  block?: string;
  /** The text of the span's tokens (joined), for the hover. */
  pieces: string;
  /** Colour level 0..BUCKETS-1 by L1 relative to the document's largest span L1. */
  bucket: number;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Groups tokens (sorted by start) and gives each group its bucket. */
export function aggregate(tokens: readonly SalientToken[], text: string, granularity: Granularity): SalientSpan[] {
  // Usually sorted already (alignment is in order): sort only when not.
  const sorted = tokens.every((t, i) => i === 0 || tokens[i - 1].start <= t.start) ? tokens : [...tokens].sort((a, b) => a.start - b.start);
  const keyOf = groupKey(text, granularity);
  const spans: SalientSpan[] = [];
  let current: (SalientSpan & { key: string | number }) | undefined;
  for (const t of sorted) {
    const key = keyOf(t);
    if (current && current.key === key && key !== -1) {
      const n = current.tokens + 1;
      current.l1 += (t.l1 - current.l1) / n;
      current.gradInput += (t.gradInput - current.gradInput) / n;
      current.tokens = n;
      current.end = Math.max(current.end, t.end);
      current.pieces += t.piece;
      continue;
    }
    if (current) spans.push(current);
    current = { key, start: t.start, end: t.end, l1: t.l1, gradInput: t.gradInput, tokens: 1, block: t.block, pieces: t.piece, bucket: 0 };
  }
  if (current) spans.push(current);
  const max = spans.reduce((m, s) => Math.max(m, Math.abs(s.l1)), 0);
  const out: SalientSpan[] = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    const bucket = max > 0 ? Math.min(BUCKETS - 1, Math.floor((Math.abs(s.l1) / max) * BUCKETS)) : 0;
    out[i] = { start: s.start, end: s.end, l1: s.l1, gradInput: s.gradInput, tokens: s.tokens, pieces: s.pieces, bucket };
    if (s.block !== undefined) out[i].block = s.block;
  }
  return out;
}

/** What makes two neighbouring tokens one group; -1 = never grouped. */
function groupKey(text: string, granularity: Granularity): (t: SalientToken) => string | number {
  switch (granularity) {
    case 'token':
      return () => -1;
    case 'block':
      return (t) => t.block ?? '';
    case 'line': {
      const lines = new LineIndex(text);
      return (t) => lines.position(t.start).line;
    }
    case 'word': {
      // A word: a maximal run of letters/digits; its id is where it starts. Tokens outside words stand alone.
      const wordStart = (offset: number): number => {
        let i = offset;
        while (i > 0 && WORD_CHAR.test(text[i - 1])) i--;
        return i;
      };
      return (t) => {
        const first = text.slice(t.start, t.end).search(WORD_CHAR);
        return first < 0 ? -1 : wordStart(t.start + first);
      };
    }
  }
}

export interface Position {
  line: number;
  character: number;
}

/** Offset -> line/character by binary search over line starts (what TextDocument.positionAt does, without vscode). */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  position(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - this.starts[lo] };
  }
}

/** A span with its positions, ready to become a vscode.Range. */
export interface PlacedSpan extends SalientSpan {
  from: Position;
  to: Position;
}

/**
 * Spans per bucket with positions (added to the given spans, which must be fresh from `aggregate`): computed once per
 * document and granularity, then one setDecorations per bucket.
 */
export function bucketize(spans: readonly SalientSpan[], text: string): PlacedSpan[][] {
  const lines = new LineIndex(text);
  const buckets: PlacedSpan[][] = Array.from({ length: BUCKETS }, () => []);
  for (const s of spans) {
    const placed = s as PlacedSpan; // the spans are ours (fresh from aggregate): add the positions in place
    placed.from = lines.position(s.start);
    placed.to = lines.position(s.end);
    buckets[s.bucket].push(placed);
  }
  return buckets;
}
