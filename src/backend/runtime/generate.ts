/** The decoding loop behind LoadedModel.generate(), independent of how logits are computed. */
import type { GenerateOptions, GenerateResult } from '../../protocol/attribution';
import { seededRandom } from '../../shared/random';
import { pickToken } from './sampling';

/** Computes next-token logits: first for a whole prompt, then one token at a time (with a KV cache). */
export interface LogitsSource {
  prefill(ids: number[]): Promise<ArrayLike<number>>;
  step(id: number): Promise<ArrayLike<number>>;
}

export interface DecodeContext {
  decode(ids: number[]): string;
  eosIds: number[];
  vocabSize: number;
  maxPositions: number;
}

export function validateGenerate(promptIds: number[], options: GenerateOptions, ctx: DecodeContext): void {
  if (!Array.isArray(promptIds) || promptIds.length === 0) throw new RangeError('promptIds must be a non-empty array of token ids');
  promptIds.forEach((id, k) => {
    if (!Number.isInteger(id) || id < 0 || id >= ctx.vocabSize) throw new RangeError(`promptIds[${k}] = ${id} is not a token id of this model (0..${ctx.vocabSize - 1})`);
  });
  if (promptIds.length >= ctx.maxPositions) throw new RangeError(`promptIds has ${promptIds.length} tokens; the model has ${ctx.maxPositions} positions`);
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 0) throw new RangeError(`maxTokens = ${options.maxTokens} must be a non-negative integer`);
  if (!(options.temperature >= 0)) throw new RangeError(`temperature = ${options.temperature} must be >= 0`);
  if (!(options.topP > 0 && options.topP <= 1)) throw new RangeError(`topP = ${options.topP} must be in (0, 1]`);
  if (!Array.isArray(options.stop) || options.stop.some((s) => typeof s !== 'string' || s === ''))
    throw new RangeError('stop must be an array of non-empty strings');
}

/**
 * How much of `text` can be streamed now: not a tail that could still grow into a stop string, nor a trailing
 * U+FFFD (an incomplete UTF-8 sequence from byte-fallback tokens that the next token may complete).
 */
function streamableLength(text: string, stop: string[]): number {
  let held = 0;
  for (const s of stop)
    for (let k = Math.min(s.length - 1, text.length); k > held; k--)
      if (text.endsWith(s.slice(0, k))) {
        held = k;
        break;
      }
  let end = text.length - held;
  while (end > 0 && text[end - 1] === '\uFFFD') end--;
  return end;
}

/**
 * Greedy or sampled decoding. Ends at maxTokens or the context limit ('length'), an EOS id ('eos', not included in
 * the result), a stop string ('stop': the text is cut before it; ids keep the token that completed it) or an abort
 * ('cancelled'). onToken receives each new token with the text it added; text that might begin a stop string is
 * held back and delivered with a later token (at the end, with the last token once more).
 */
export async function decodeTokens(
  source: LogitsSource,
  ctx: DecodeContext,
  promptIds: number[],
  options: GenerateOptions,
  onToken?: (id: number, text: string) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  validateGenerate(promptIds, options, ctx);
  const random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const ids: number[] = [];
  let text = '';
  let streamed = 0;
  const finish = (finishReason: GenerateResult['finishReason']): GenerateResult => {
    if (onToken && streamed < text.length) onToken(ids[ids.length - 1], text.slice(streamed));
    return { ids, text, finishReason };
  };
  if (signal?.aborted) return finish('cancelled');
  if (options.maxTokens === 0) return finish('length');
  let logits = await source.prefill(promptIds);
  for (;;) {
    if (signal?.aborted) return finish('cancelled');
    const id = pickToken(logits, options.temperature, options.topP, random);
    if (ctx.eosIds.includes(id)) return finish('eos');
    ids.push(id);
    const full = ctx.decode(ids);
    const stopAt = Math.min(...options.stop.map((s) => full.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(stopAt)) {
      text = full.slice(0, stopAt);
      return finish('stop');
    }
    text = full;
    const ready = streamableLength(text, options.stop);
    if (ready > streamed) {
      onToken?.(id, text.slice(streamed, ready));
      streamed = ready;
    } else onToken?.(id, '');
    if (ids.length >= options.maxTokens || promptIds.length + ids.length >= ctx.maxPositions) return finish('length');
    if (signal?.aborted) return finish('cancelled');
    logits = await source.step(id);
  }
}
