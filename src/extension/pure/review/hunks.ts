/**
 * A proposal's change to one prompt file as separate hunks (line-based, from the `diff` package), so the refactor
 * preview lists each one and the reviewer can accept or reject them one by one. Pure (no `vscode`).
 */
import { diffLines } from 'diff';

/** Replace before[start, end) with `text` (start == end: an insertion). Offsets are into the text before. */
export interface Hunk {
  start: number;
  end: number;
  text: string;
}

export function proposalHunks(before: string, after: string): Hunk[] {
  const hunks: Hunk[] = [];
  let offset = 0;
  let open: Hunk | undefined;
  for (const part of diffLines(before, after)) {
    if (!part.added && !part.removed) {
      if (open) hunks.push(open);
      open = undefined;
      offset += part.value.length;
      continue;
    }
    open ??= { start: offset, end: offset, text: '' };
    if (part.removed) {
      offset += part.value.length;
      open.end = offset;
    } else {
      open.text += part.value;
    }
  }
  if (open) hunks.push(open);
  return hunks;
}

/** The text after applying hunks (sorted, non-overlapping) to `before`: used to check the hunks and in tests. */
export function applyHunks(before: string, hunks: readonly Hunk[]): string {
  let out = '';
  let cursor = 0;
  for (const h of hunks) {
    out += before.slice(cursor, h.start) + h.text;
    cursor = h.end;
  }
  return out + before.slice(cursor);
}
