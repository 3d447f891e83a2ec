import type { ChatMessage } from '../../protocol/attribution';

/** A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with its chat template. */
export interface ModelTokenizer {
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosIds: number[];
  readonly hasChatTemplate: boolean;
  /** addSpecialTokens: prepend BOS etc. as the tokenizer's post-processor says. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The piece string of one id (the vocabulary's spelling: `Ġ`, `▁`, `<0x0A>`...). */
  idToPiece(id: number): string;
  /** The text each id stands for in context, decoded by the tokenizer's own decoder (see HfTokenizer.tokenTexts). */
  tokenTexts(ids: number[]): string[];
  /** Renders messages with the model's chat template (@huggingface/jinja). Throws if there is none. */
  renderChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  /**
   * Tokenizes consecutive text segments so that each segment's token range is known exactly:
   * ids = concatenation, ranges[k] = [start, end) of segment k. Special tokens (BOS) are added once, before segment 0,
   * and are not part of any segment's range (the paper's code had an off-by-one here).
   */
  encodeSegments(segments: string[], options?: { addSpecialTokens?: boolean }): { ids: number[]; ranges: Array<[number, number]> };
}
