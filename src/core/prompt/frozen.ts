/**
 * Guards for the optimizer: frozen regions (`<DONT_CHANGE>...</DONT_CHANGE>`) of a prompt must come out of a rewrite
 * exactly as they went in, tags included.
 */
import { parsePromptFile } from './parse';
import { FROZEN_OPEN_TAG, type FrozenRegion } from './types';

/** How much text around a region is used to find where it belongs in a rewritten prompt. */
const ANCHOR_LENGTHS = [80, 40, 20, 10];
/** An anchor with fewer non-blank characters than this is too common to locate anything. */
const MIN_ANCHOR_CHARS = 3;

/**
 * Whether every frozen region of `original` appears, character for character and tags included, as a frozen region of
 * `updated` (a region written twice must be there twice). `missing` lists the absent ones as written in `original`
 * (tags included), in their original order.
 */
export function frozenRegionsPreserved(original: string, updated: string): { ok: boolean; missing: string[] } {
  const { missing } = compareRegions(original, updated);
  return { ok: missing.length === 0, missing: missing.map((r) => r.source) };
}

/**
 * Puts back the frozen regions of `original` that `updated` dropped or altered, so that
 * `frozenRegionsPreserved(original, result.text).ok` holds. `restored` lists them as written in `original`, in order.
 *
 * Where each one goes, first rule that applies:
 * 1. A region of `updated` that matches no original region (the optimizer edited inside the tags) is replaced by the
 *    missing original region: the k-th such altered region takes the k-th missing one, in text order.
 * 2. The optimizer removed the tags but kept the inner text verbatim: that text is wrapped in its tags again.
 * 3. The text just before the region in `original` (its last 80, 40, 20 or 10 characters, not counting the blank
 *    space that touches the region) is found in `updated`: the region is inserted right after it, with that blank
 *    space. A region that opened the body goes back at the start of the body.
 * 4. Likewise with the text just after the region: inserted right before it. A region that ended the file is appended.
 * 5. Otherwise it is appended at the end, on its own line.
 * Whatever the optimizer wrote in place of a dropped region is left, so the reviewer sees it in the diff.
 * Before all this, tags in `updated` that pair with nothing are removed (see `dropOrphanTags`). `updated` comes back
 * untouched when nothing is missing. `original` is assumed free of frozen-tag problems (the loader rejects those).
 */
export function restoreFrozenRegions(original: string, updated: string): { text: string; restored: string[] } {
  if (frozenRegionsPreserved(original, updated).ok) return { text: updated, restored: [] };
  let text = dropOrphanTags(updated);
  const { missing, altered, originalBodyOffset } = compareRegions(original, text);
  const pairs = Math.min(missing.length, altered.length);
  // Rule 1, from the last altered region back, so earlier offsets stay valid.
  for (let k = pairs - 1; k >= 0; k--) {
    text = splice(text, altered[k].range.start, altered[k].range.end, missing[k].source);
  }
  for (const region of missing.slice(pairs)) {
    text = reinsert(text, region, original, originalBodyOffset);
  }
  return { text, restored: missing.map((r) => r.source) };
}

/**
 * Removes frozen tags that belong to no region: a close tag with no open tag before it, and an open tag followed by
 * another open tag before any close tag (the likely story: the optimizer dropped that region's close tag, so the later
 * open tag is the one that pairs with the next close tag) or by nothing at all.
 */
function dropOrphanTags(text: string): string {
  const orphans: { start: number; end: number }[] = [];
  let open: { start: number; end: number } | undefined;
  const tags = /<\/?DONT_CHANGE>/g;
  tags.lastIndex = parsePromptFile(text).bodyOffset;
  for (let m = tags.exec(text); m; m = tags.exec(text)) {
    const tag = { start: m.index, end: m.index + m[0].length };
    if (m[0] === FROZEN_OPEN_TAG) {
      if (open) orphans.push(open);
      open = tag;
    } else if (open) {
      open = undefined;
    } else {
      orphans.push(tag);
    }
  }
  if (open) orphans.push(open);
  for (const tag of orphans.reverse()) text = splice(text, tag.start, tag.end, '');
  return text;
}

/** Original regions with no identical region in `updated` (each updated region vouches for one original at most). */
function compareRegions(original: string, updated: string) {
  const before = parsePromptFile(original);
  const unmatchedUpdated = [...parsePromptFile(updated).frozenRegions];
  const missing: FrozenRegion[] = [];
  for (const region of before.frozenRegions) {
    const i = unmatchedUpdated.findIndex((u) => u.source === region.source);
    if (i === -1) missing.push(region);
    else unmatchedUpdated.splice(i, 1);
  }
  return { missing, altered: unmatchedUpdated, originalBodyOffset: before.bodyOffset };
}

function reinsert(text: string, region: FrozenRegion, original: string, originalBodyOffset: number): string {
  const parsed = parsePromptFile(text);
  const usable = (offset: number) => !parsed.frozenRegions.some((r) => offset > r.range.start && offset < r.range.end);

  // Rule 2: the tags were removed but the inner text is still there.
  if (region.inner.trim()) {
    for (let at = text.indexOf(region.inner, parsed.bodyOffset); at !== -1; at = text.indexOf(region.inner, at + 1)) {
      if (usable(at) && usable(at + region.inner.length)) {
        return splice(text, at, at + region.inner.length, region.source);
      }
    }
  }

  // Rule 3: anchor on the text before the region (blank space next to the region travels with it).
  const textBefore = original.slice(originalBodyOffset, region.range.start);
  if (textBefore === '') return splice(text, parsed.bodyOffset, parsed.bodyOffset, region.source);
  for (const anchor of anchors(textBefore, 'tail')) {
    const at = text.indexOf(anchor.text, parsed.bodyOffset);
    const insertAt = at + anchor.text.length;
    if (at !== -1 && usable(insertAt)) return splice(text, insertAt, insertAt, anchor.space + region.source);
  }

  // Rule 4: anchor on the text after the region.
  const textAfter = original.slice(region.range.end);
  if (textAfter === '') return appendRegion(text, region);
  for (const anchor of anchors(textAfter, 'head')) {
    const at = text.indexOf(anchor.text, parsed.bodyOffset);
    if (at !== -1 && usable(at)) return splice(text, at, at, region.source + anchor.space);
  }

  return appendRegion(text, region); // Rule 5.
}

/**
 * The candidate anchors, longest first: the end (tail) or start (head) of `context`, without the blank space that
 * touches the region (`space`, put back between anchor and region: the rewrite may have changed line breaks there).
 */
function anchors(context: string, side: 'head' | 'tail'): { text: string; space: string }[] {
  const out: { text: string; space: string }[] = [];
  const space = (side === 'tail' ? /\s*$/ : /^\s*/).exec(context)![0];
  const core = side === 'tail' ? context.slice(0, context.length - space.length) : context.slice(space.length);
  for (const length of ANCHOR_LENGTHS) {
    const text = side === 'tail' ? core.slice(-length) : core.slice(0, length);
    if (text.replace(/\s/g, '').length >= MIN_ANCHOR_CHARS && !out.some((a) => a.text === text)) out.push({ text, space });
  }
  return out;
}

function appendRegion(text: string, region: FrozenRegion): string {
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${separator}${region.source}\n`;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}
