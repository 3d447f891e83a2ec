/**
 * The text of an attributed token for reports: the decoded text the backend recorded (CallAttribution.tokens.texts),
 * or, in runs recorded before that existed, the raw piece. No table of piece spellings: the tokenizer's own decoder
 * did the decoding, for every tokenizer family alike.
 */
import type { CallAttribution } from '../engine/types';

type Tokens = NonNullable<CallAttribution['tokens']>;

/** Token k's text (k indexes the attributed tail). */
export function tokenText(tokens: Tokens, k: number): string {
  return tokens.texts?.[k] ?? tokens.pieces[k] ?? '';
}

/** How a token's text is drawn inline: a line break or tab as a visible mark, so a heat map keeps one line per block. */
export function visibleText(text: string): string {
  return text.replace(/\r?\n/g, '↵').replace(/\t/g, '⇥');
}
