/**
 * Where each attributed token lies in the text a person reads: token index -> [start, end) in a document's characters.
 *
 * CallAttribution.tokens holds the attributed tail (from the first input block to the end of the output) as model
 * pieces: SentencePiece pieces (`▁` a space, `<0x0A>` a byte) or byte-level BPE pieces (`Ġ` a space, `Ċ` a newline).
 * The tail was tokenised from a text the extension does not store verbatim: the block text of AgentCall.renderedInput,
 * then the framing after the user message (a chat template's end-of-turn markup, or the blank line of the plain-text
 * rendering), then the output. So the mapping is rebuilt by alignment instead of arithmetic:
 *   1. every piece is decoded to the text it stands for (byte pieces that only together make a UTF-8 character are
 *      grouped into one unit sharing one range);
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

/**
 * The GPT-2 byte-level alphabet: byte b is written as the character bytesToUnicode[b] in byte-level BPE pieces.
 * Hand-written because no installed tokenizer package exports it; it is the standard 30-line table.
 */
const BYTE_OF_CHAR: Map<string, number> = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.includes(b)) map.set(String.fromCharCode(b), b);
    else map.set(String.fromCharCode(256 + extra++), b);
  }
  return map;
})();

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Byte-level BPE (GPT-2 style) rather than SentencePiece: pieces use Ġ/Ċ and never ▁. */
export function isByteLevel(pieces: readonly string[]): boolean {
  let byteLevelMarks = 0;
  for (const p of pieces) {
    if (p.includes('▁')) return false;
    if (p.includes('Ġ') || p.includes('Ċ')) byteLevelMarks++;
  }
  return byteLevelMarks > 0;
}

/** A special token (e.g. `<s>`, `<|im_end|>`): markup the model sees, not text of the document. */
function isSpecial(piece: string): boolean {
  return piece.charCodeAt(0) === 60 /* < */ && /^<\|.*\|>$|^<\/?s>$|^<unk>$|^<pad>$/.test(piece);
}

/** The bytes of a byte-level BPE piece, or undefined when it is not written in that alphabet. */
function byteLevelBytes(piece: string): number[] | undefined {
  const bytes: number[] = [];
  for (const ch of piece) {
    const b = BYTE_OF_CHAR.get(ch);
    if (b === undefined) return undefined;
    bytes.push(b);
  }
  return bytes;
}

/** Consecutive tokens that decode to one piece of text (a multi-byte character split over byte pieces is one unit). */
interface Unit {
  first: number;
  last: number;
  text: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Pieces to units. Plain text pieces (the vast majority) become their text directly; only byte pieces go through a
 * UTF-8 decoder, collected until they form whole characters (at most 4 bytes; bytes that never do are dropped).
 */
function toUnits(pieces: readonly string[]): Unit[] {
  const byteLevel = isByteLevel(pieces);
  const units: Unit[] = [];
  let pending: { first: number; bytes: number[] } | undefined;
  const flush = (last: number, force: boolean): void => {
    const group = pending;
    if (!group) return;
    try {
      units.push({ first: group.first, last, text: decoder.decode(Uint8Array.from(group.bytes)) });
      pending = undefined;
    } catch {
      if (force || group.bytes.length >= 4) pending = undefined;
    }
  };
  const addBytes = (i: number, bytes: number[]): void => {
    if (pending) pending.bytes.push(...bytes);
    else pending = { first: i, bytes };
    flush(i, false);
  };
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (isSpecial(piece)) {
      flush(i - 1, true);
      units.push({ first: i, last: i, text: '' });
      continue;
    }
    const hex = piece.length === 6 ? BYTE_PIECE.exec(piece) : null;
    if (hex) {
      addBytes(i, [parseInt(hex[1], 16)]);
      continue;
    }
    if (byteLevel) {
      const bytes = byteLevelBytes(piece);
      if (bytes && (pending || bytes.some((b) => b >= 0x80))) {
        addBytes(i, bytes);
        continue;
      }
      flush(i - 1, true);
      units.push({ first: i, last: i, text: bytes ? String.fromCharCode(...bytes) : piece });
      continue;
    }
    flush(i - 1, true);
    units.push({ first: i, last: i, text: piece.includes('▁') ? piece.replace(/▁/g, ' ') : piece });
  }
  flush(pieces.length - 1, true);
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
 * Aligns pieces forward onto `text` from `from`: ranges[i] is token i's characters, or undefined when it has none.
 * Stops at `to` (default: the end of the text); tokens after that point stay undefined.
 */
export function alignForward(pieces: readonly string[], text: string, from = 0, to = text.length): Array<TokenRange | undefined> {
  const ranges: Array<TokenRange | undefined> = new Array(pieces.length).fill(undefined);
  let cursor = from;
  for (const unit of toUnits(pieces)) {
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
 * Aligns the LAST pieces backward onto the end of `text`. Returns the ranges and how many leading pieces were not
 * consumed (they belong to text before this one). Gives up after a run of misses (we have left the text).
 */
export function alignBackward(pieces: readonly string[], text: string): { ranges: Array<TokenRange | undefined>; consumedFrom: number } {
  const ranges: Array<TokenRange | undefined> = new Array(pieces.length).fill(undefined);
  const units = toUnits(pieces);
  let cursor = text.length;
  let consumedFrom = pieces.length;
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
  pieces: readonly string[],
  renderedInput: string,
  firstBlockCharStart: number,
  output: string,
): PlacedToken[] {
  const { ranges: outRanges, consumedFrom } = output ? alignBackward(pieces, output) : { ranges: [], consumedFrom: pieces.length };
  const inRanges = alignForward(pieces.slice(0, consumedFrom), renderedInput, firstBlockCharStart);
  const placed: PlacedToken[] = [];
  inRanges.forEach((r, index) => r && placed.push({ index, part: 'input', start: r.start, end: r.end }));
  for (let index = consumedFrom; index < pieces.length; index++) {
    const r = outRanges[index];
    if (r) placed.push({ index, part: 'output', start: r.start, end: r.end });
  }
  return placed;
}
