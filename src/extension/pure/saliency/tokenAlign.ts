/**
 * Where each attributed token lies in the text a person reads: token index -> [start, end) in a document's characters.
 *
 * CallAttribution.tokens holds the attributed tail (from the first input block to the end of the output) with each
 * token's decoded text (`texts`: " Max", "\n"; '' for the leading bytes of a split character). The tail was tokenised
 * from a text the extension does not store verbatim: the block text of AgentCall.renderedInput, then the framing after
 * the user message (a chat template's end-of-turn markup, or the blank line of the plain-text rendering), then the
 * output. So the mapping is rebuilt by alignment instead of arithmetic:
 *   1. tokens become units of text (the bytes of a character split over tokens are one unit sharing one range);
 *   2. the output is aligned from its END backwards (the output is the tail's last segment, tokenised on its own);
 *   3. the rest is aligned FORWARD on renderedInput from the first block's charStart (where the tail starts).
 * A unit matches at the cursor, or at the cursor without the tokenizer's dummy leading space, or a short way ahead
 * (text the unit's tokens do not cover: framing, a template variable's value). Units that match nowhere — special
 * tokens, chat-template markup — get no range and are simply not drawn. Nothing here trusts exact offsets, so a
 * template or tokenizer quirk degrades to a few undrawn tokens, never to shifted colours.
 */

/** A character range [start, end) of one token in one of the call's texts. */
export interface TokenRange {
  start: number;
  end: number;
}

/** How far ahead (in characters) a unit may be found when it does not sit at the cursor. */
export const MAX_SKIP = 48;

/** Consecutive tokens that make one piece of text (a character whose bytes are split over tokens is one unit). */
interface Unit {
  first: number;
  last: number;
  text: string;
}

/**
 * Token texts to units. The backend decoded every token with the tokenizer's own decoder (HfTokenizer.tokenTexts), so
 * no table of piece spellings is needed here; a token with empty text (the leading bytes of a character) shares the
 * range of the token that completes it.
 */
function toUnits(texts: readonly string[]): Unit[] {
  const units: Unit[] = [];
  let first = 0;
  texts.forEach((text, i) => {
    if (text === '' && i < texts.length - 1) return;
    units.push({ first, last: i, text });
    first = i + 1;
  });
  return units;
}

/** Match of `s` at or shortly after `cursor` (forward) — with or without a leading dummy space. */
function matchForward(text: string, s: string, cursor: number, limit: number): TokenRange | undefined {
  const candidates = s.startsWith(' ') && s.length > 1 ? [s, s.slice(1)] : [s];
  for (const c of candidates) if (text.startsWith(c, cursor) && cursor + c.length <= limit) return { start: cursor, end: cursor + c.length };
  for (const c of candidates) {
    const at = text.indexOf(c, cursor);
    if (at >= 0 && at - cursor <= MAX_SKIP && at + c.length <= limit) return { start: at, end: at + c.length };
  }
  return undefined;
}

/** Match of `s` ending at or shortly before `cursor` (backward). */
function matchBackward(text: string, s: string, cursor: number, floor: number): TokenRange | undefined {
  const candidates = s.startsWith(' ') && s.length > 1 ? [s, s.slice(1)] : [s];
  for (const c of candidates) if (cursor - c.length >= floor && text.startsWith(c, cursor - c.length)) return { start: cursor - c.length, end: cursor };
  for (const c of candidates) {
    const at = text.lastIndexOf(c, cursor - c.length);
    if (at >= floor && cursor - (at + c.length) <= MAX_SKIP) return { start: at, end: at + c.length };
  }
  return undefined;
}

/**
 * Aligns token texts forward onto `text` from `from`: ranges[i] is token i's characters, or undefined when it has none.
 * Stops at `to` (default: the end of the text); tokens after that point stay undefined.
 */
export function alignForward(texts: readonly string[], text: string, from = 0, to = text.length): Array<TokenRange | undefined> {
  const ranges: Array<TokenRange | undefined> = new Array(texts.length).fill(undefined);
  let cursor = from;
  for (const unit of toUnits(texts)) {
    if (!unit.text || cursor >= to) continue;
    // Whitespace matches only where it stands: searching ahead for a lone space (a SentencePiece tokenizer's dummy
    // prefix `▁` before text that starts without one) would jump over the next word and misplace everything after.
    if (!unit.text.trim() && !text.startsWith(unit.text, cursor)) continue;
    const hit = matchForward(text, unit.text, cursor, to);
    if (!hit) continue;
    for (let i = unit.first; i <= unit.last; i++) ranges[i] = hit;
    cursor = hit.end;
  }
  return ranges;
}

/**
 * Aligns the LAST token texts backward onto the end of `text`. Returns the ranges and how many leading tokens were not
 * consumed (they belong to text before this one). Gives up after a run of misses (we have left the text).
 */
export function alignBackward(texts: readonly string[], text: string): { ranges: Array<TokenRange | undefined>; consumedFrom: number } {
  const ranges: Array<TokenRange | undefined> = new Array(texts.length).fill(undefined);
  const units = toUnits(texts);
  let cursor = text.length;
  let consumedFrom = texts.length;
  let misses = 0;
  for (let u = units.length - 1; u >= 0 && cursor > 0; u--) {
    const unit = units[u];
    const whitespaceElsewhere = !unit.text.trim() && !text.startsWith(unit.text, cursor - unit.text.length);
    const hit = unit.text && !whitespaceElsewhere ? matchBackward(text, unit.text, cursor, 0) : undefined;
    if (!hit) {
      if (++misses > 3) break;
      continue;
    }
    misses = 0;
    for (let i = unit.first; i <= unit.last; i++) ranges[i] = hit;
    cursor = hit.start;
    consumedFrom = unit.first;
  }
  return { ranges, consumedFrom };
}

/** Which text of a call a token lies in. */
export type CallPart = 'input' | 'output';

export interface PlacedToken {
  /** Index in CallAttribution.tokens (0 = the first tail token). */
  index: number;
  part: CallPart;
  start: number;
  end: number;
}

/**
 * Every attributed token of a call that could be placed, in the input (AgentCall.renderedInput) or the output
 * (the attributed output text), in token order. See the header for the method.
 */
export function placeCallTokens(
  texts: readonly string[],
  renderedInput: string,
  firstBlockCharStart: number,
  output: string,
): PlacedToken[] {
  const { ranges: outRanges, consumedFrom } = output ? alignBackward(texts, output) : { ranges: [], consumedFrom: texts.length };
  const inRanges = alignForward(texts.slice(0, consumedFrom), renderedInput, firstBlockCharStart);
  const placed: PlacedToken[] = [];
  inRanges.forEach((r, index) => r && placed.push({ index, part: 'input', start: r.start, end: r.end }));
  for (let index = consumedFrom; index < texts.length; index++) {
    const r = outRanges[index];
    if (r) placed.push({ index, part: 'output', start: r.start, end: r.end });
  }
  return placed;
}
