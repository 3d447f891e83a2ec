/**
 * `partialRatio`: the fuzzy string similarity the standard MultiWOZ evaluator (mwzeval) uses for database names and
 * DST values — fuzzywuzzy 0.18 `fuzz.partial_ratio` over python-Levenshtein 0.12 (notes/multiwoz-evaluation.md §6).
 *
 * Written by hand on purpose: the result depends on python-Levenshtein 0.12's exact tie-breaking when it aligns the
 * two strings, which no JavaScript library reproduces (rapidfuzz-style ports give different values on ~6 % of pairs).
 */

/** Memo of results: the evaluator asks the same few thousand pairs again and again (every turn queries the db). */
const cache = new Map<string, number>();
const CACHE_LIMIT = 200_000;

/** Similarity 0–100 (an integer) of the best-aligned window of the longer string against the shorter one. */
export function partialRatio(s1: string, s2: string): number {
  const key = s1 + '\u0000' + s2;
  let value = cache.get(key);
  if (value === undefined) {
    value = computePartialRatio(Array.from(s1), Array.from(s2));
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, value);
  }
  return value;
}

function computePartialRatio(a: string[], b: string[]): number {
  if (a.length === b.length && a.every((c, i) => c === b[i])) return 100;
  if (a.length === 0 || b.length === 0) return 0;
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  let best = 0;
  for (const [i, j] of matchingBlocks(shorter, longer)) {
    const start = Math.max(0, j - i);
    const window = longer.slice(start, start + shorter.length);
    const r = ratio(shorter, window);
    if (r > 0.995) return 100;
    if (r > best) best = r;
  }
  return roundHalfEven(100 * best);
}

/** Python's round() to an integer: exact .5 ties go to the even neighbour (2/16 → 12.5 → 12). */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Levenshtein.ratio: 2·LCS / (len a + len b) (the indel similarity), in doubles. */
function ratio(a: string[], b: string[]): number {
  const total = a.length + b.length;
  if (total === 0) return 1;
  return (2 * longestCommonSubsequence(a, b)) / total;
}

function longestCommonSubsequence(a: string[], b: string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/**
 * python-Levenshtein 0.12's matching blocks of `s` against `l`: triples (start in s, start in l, length) of the
 * runs of equal characters in its edit alignment, ending with the dummy (len s, len l, 0). §6.1 of the note.
 */
export function matchingBlocks(s: string[], l: string[]): [number, number, number][] {
  let prefix = 0;
  while (prefix < s.length && prefix < l.length && s[prefix] === l[prefix]) prefix++;
  let suffix = 0;
  while (suffix < s.length - prefix && suffix < l.length - prefix && s[s.length - 1 - suffix] === l[l.length - 1 - suffix]) suffix++;
  const a = s.slice(prefix, s.length - suffix);
  const b = l.slice(prefix, l.length - suffix);
  const m = a.length;
  const n = b.length;

  // Levenshtein table with unit costs.
  const d: number[][] = [];
  for (let i = 0; i <= m; i++) {
    d.push(new Array<number>(n + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      d[i][j] = Math.min(d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1), d[i][j - 1] + 1, d[i - 1][j] + 1);
    }
  }

  // Backtrack with python-Levenshtein's rule order; record the positions (in a, b) where a character is kept.
  const keptBackwards: [number, number][] = [];
  let i = m;
  let j = n;
  let dir: 'none' | 'ins' | 'del' = 'none';
  while (i > 0 || j > 0) {
    if (dir === 'ins' && j > 0 && d[i][j] === d[i][j - 1] + 1) {
      j--;
    } else if (dir === 'del' && i > 0 && d[i][j] === d[i - 1][j] + 1) {
      i--;
    } else if (i > 0 && j > 0 && a[i - 1] === b[j - 1] && d[i][j] === d[i - 1][j - 1]) {
      i--;
      j--;
      keptBackwards.push([i, j]);
      dir = 'none';
    } else if (i > 0 && j > 0 && d[i][j] === d[i - 1][j - 1] + 1) {
      i--;
      j--;
      dir = 'none';
    } else if (dir === 'none' && j > 0 && d[i][j] === d[i][j - 1] + 1) {
      j--;
      dir = 'ins';
    } else if (dir === 'none' && i > 0 && d[i][j] === d[i - 1][j] + 1) {
      i--;
      dir = 'del';
    } else {
      throw new Error('partialRatio: no backtracking rule applies (cannot happen for a valid table)');
    }
  }

  // Forward list of kept positions in s and l: prefix, core keeps, suffix.
  const kept: [number, number][] = [];
  for (let k = 0; k < prefix; k++) kept.push([k, k]);
  for (let k = keptBackwards.length - 1; k >= 0; k--) kept.push([keptBackwards[k][0] + prefix, keptBackwards[k][1] + prefix]);
  for (let k = 0; k < suffix; k++) kept.push([s.length - suffix + k, l.length - suffix + k]);

  // Maximal runs of consecutive keeps (consecutive in both strings) are the blocks.
  const blocks: [number, number, number][] = [];
  for (const [si, li] of kept) {
    const last = blocks[blocks.length - 1];
    if (last && last[0] + last[2] === si && last[1] + last[2] === li) last[2]++;
    else blocks.push([si, li, 1]);
  }
  blocks.push([s.length, l.length, 0]);
  return blocks;
}
