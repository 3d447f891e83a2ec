/**
 * A Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json, optionally chat_template.jinja,
 * config.json / generation_config.json for extra EOS ids) as a ModelTokenizer, on @huggingface/tokenizers and
 * @huggingface/jinja.
 *
 * Segment-wise encoding and the SentencePiece prefix space
 * ---------------------------------------------------------
 * encodeSegments tokenises each segment on its own and concatenates the ids, so every segment's token range is exact
 * by construction: those concatenated ids ARE what the model is fed. To make them also equal what encoding the
 * joined text would give (wherever no token merges across a boundary), segments after the first are encoded by a
 * "continuation" copy of the tokenizer with the start-of-text space marker switched off: SentencePiece-style
 * tokenizers add '▁' before the first piece of a text (a `Prepend` normalizer, or a Metaspace pre-tokenizer with
 * prepend_scheme 'first'/'always'), and some byte-level ones add a space (ByteLevel add_prefix_space). Without the
 * change, segment 2 of "a\nb" would be encoded as if it started a text ("▁b" instead of "b").
 * agreesWithWholeText() tells whether the two encodings coincide for given segments.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage } from '../../protocol/attribution';
import { ModelError } from '../errors';
import type { ModelTokenizer } from './types';

type Json = Record<string, unknown>;

function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new ModelError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

const readJsonIfPresent = (path: string): Json | undefined => (existsSync(path) ? readJson(path) : undefined);

/** A special token in tokenizer_config.json is a string or an AddedToken object {content, ...}. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** Removes the "space before the first piece" steps from a tokenizer.json component (see the file comment). */
function withoutLeadingSpace(component: unknown): unknown {
  if (!component || typeof component !== 'object') return component;
  const c = { ...(component as Json) };
  switch (c.type) {
    case 'Prepend':
      return null;
    case 'Sequence': {
      for (const key of ['normalizers', 'pretokenizers', 'pre_tokenizers']) {
        if (Array.isArray(c[key])) c[key] = (c[key] as unknown[]).map(withoutLeadingSpace).filter((x) => x !== null);
      }
      return c;
    }
    case 'Metaspace':
      return { ...c, prepend_scheme: 'never', add_prefix_space: false };
    case 'ByteLevel':
      return { ...c, add_prefix_space: false };
    default:
      return c;
  }
}

function indexOfRun(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** ids.push(...more) without the spread: a spread passes every element as an argument, and a segment of a few
 * hundred thousand tokens overflows the stack (RangeError: Maximum call stack size exceeded). */
function appendAll(ids: number[], more: readonly number[]): void {
  for (const id of more) ids.push(id);
}

export class HfTokenizer implements ModelTokenizer {
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosIds: number[];
  readonly hasChatTemplate: boolean;
  /** The special tokens the post-processor puts before / after a single sequence (e.g. [BOS] / []). */
  readonly specialPrefix: number[];
  readonly specialSuffix: number[];
  private readonly tokenizer: Tokenizer;
  private readonly continuation: Tokenizer;
  private readonly chatTemplate?: Template;
  private readonly templateVariables: Json;

  constructor(
    readonly dir: string,
    tokenizerJson: Json,
    tokenizerConfig: Json,
    options: { chatTemplate?: string; extraEosIds?: number[] } = {},
  ) {
    // Round-trip fidelity matters more than prettified spaces: only clean up when the config asks for it.
    const config = { ...tokenizerConfig, clean_up_tokenization_spaces: tokenizerConfig.clean_up_tokenization_spaces === true };
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    this.continuation = new Tokenizer(
      { ...tokenizerJson, normalizer: withoutLeadingSpace(tokenizerJson.normalizer), pre_tokenizer: withoutLeadingSpace(tokenizerJson.pre_tokenizer) },
      config,
    );
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const idOf = (field: string): number | undefined => {
      const content = tokenContent(tokenizerConfig[field]);
      return content === undefined ? undefined : this.tokenizer.token_to_id(content);
    };
    this.bosId = idOf('bos_token');
    const eos = idOf('eos_token');
    this.eosIds = [...new Set([...(eos === undefined ? [] : [eos]), ...(options.extraEosIds ?? [])])];

    const probe = 'a';
    const plain = this.tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const withSpecials = this.tokenizer.encode(probe, { add_special_tokens: true }).ids;
    const at = indexOfRun(withSpecials, plain);
    this.specialPrefix = at < 0 ? [] : withSpecials.slice(0, at);
    this.specialSuffix = at < 0 ? [] : withSpecials.slice(at + plain.length);

    this.hasChatTemplate = options.chatTemplate !== undefined;
    if (options.chatTemplate !== undefined) {
      try {
        this.chatTemplate = new Template(options.chatTemplate);
      } catch (e) {
        throw new ModelError(`${join(dir, 'tokenizer_config.json')}: field "chat_template" does not parse (${(e as Error).message})`);
      }
    }
    // The variables Hugging Face passes to chat templates besides the messages.
    this.templateVariables = {};
    for (const field of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const content = tokenContent(tokenizerConfig[field]);
      if (content !== undefined) this.templateVariables[field] = content;
    }
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    return this.tokenizer.decode(ids, { skip_special_tokens: options?.skipSpecialTokens ?? false });
  }

  idToPiece(id: number): string {
    return this.tokenizer.id_to_token(id) ?? '';
  }

  /**
   * The text of each token as a reader sees it (" Max", "\n", "é"), decoded by the tokenizer's own decoder rather than
   * a table of piece spellings, so byte-level BPE (Ġ, Ċ), SentencePiece (▁, <0x0A>) and anything else decode alike.
   * Token i's text is what decoding ids[..i] adds to decoding ids[..i-1], over a window of a few tokens before it (the
   * decoder's context: a SentencePiece decoder drops the space of a text's first piece only). A character whose UTF-8
   * bytes are split over several tokens belongs to the token that completes it; the tokens before get ''. The texts
   * joined are the decoded text, so their lengths give each token's character offsets in it.
   */
  tokenTexts(ids: number[]): string[] {
    const WINDOW = 8;
    const texts: string[] = [];
    // An unfinished multi-byte character decodes as U+FFFD: not text yet.
    const settled = (text: string) => text.replace(/\uFFFD+$/, '');
    for (let i = 0; i < ids.length; i++) {
      const from = Math.max(0, i - WINDOW);
      const before = settled(this.decode(ids.slice(from, i)));
      const after = settled(this.decode(ids.slice(from, i + 1)));
      texts.push(after.startsWith(before) ? after.slice(before.length) : settled(this.decode([ids[i]])));
    }
    return texts;
  }

  /**
   * Renders with the model's chat template. Note: templates that start with `{{ bos_token }}` already contain BOS:
   * encode their output with addSpecialTokens: false (as transformers' apply_chat_template does).
   */
  renderChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string {
    if (!this.chatTemplate) throw new ModelError(`${this.dir}: the tokenizer has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja)`);
    return this.chatTemplate.render({
      ...this.templateVariables,
      messages,
      add_generation_prompt: options?.addGenerationPrompt ?? false,
    });
  }

  encodeSegments(segments: string[], options?: { addSpecialTokens?: boolean }): { ids: number[]; ranges: Array<[number, number]> } {
    const addSpecial = options?.addSpecialTokens ?? true;
    const ids: number[] = addSpecial ? [...this.specialPrefix] : [];
    const ranges: Array<[number, number]> = [];
    let atTextStart = true;
    for (const segment of segments) {
      const start = ids.length;
      // Empty text would still get the SentencePiece '▁' from some tokenizers: an empty segment has no tokens, and
      // the first non-empty segment is the one that starts the text.
      if (segment.length > 0) {
        const tokenizer = atTextStart ? this.tokenizer : this.continuation;
        appendAll(ids, tokenizer.encode(segment, { add_special_tokens: false }).ids);
        atTextStart = false;
      }
      ranges.push([start, ids.length]);
    }
    if (addSpecial) appendAll(ids, this.specialSuffix);
    return { ids, ranges };
  }

  /** Whether encodeSegments(segments) gives the same ids as encoding the joined text (false when a merge crosses a boundary). */
  agreesWithWholeText(segments: string[], options?: { addSpecialTokens?: boolean }): boolean {
    const whole = this.encode(segments.join(''), options);
    const pieces = this.encodeSegments(segments, options).ids;
    return whole.length === pieces.length && whole.every((id, i) => id === pieces[i]);
  }
}

/** Loads tokenizer.json + tokenizer_config.json (+ chat_template.jinja, + EOS ids from config.json / generation_config.json). */
export async function loadTokenizer(dir: string): Promise<HfTokenizer> {
  const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
  const configPath = join(dir, 'tokenizer_config.json');
  const tokenizerConfig = readJsonIfPresent(configPath) ?? {};

  // A separate chat_template.jinja wins over tokenizer_config.json, as in transformers.
  let chatTemplate: string | undefined;
  const jinjaPath = join(dir, 'chat_template.jinja');
  if (existsSync(jinjaPath)) chatTemplate = readFileSync(jinjaPath, 'utf8');
  else if (typeof tokenizerConfig.chat_template === 'string') chatTemplate = tokenizerConfig.chat_template;
  else if (Array.isArray(tokenizerConfig.chat_template)) {
    // Named templates [{name, template}]: the "default" one is for plain chat.
    const named = tokenizerConfig.chat_template as Array<{ name?: string; template?: string }>;
    chatTemplate = (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }

  const extraEosIds: number[] = [];
  for (const file of ['config.json', 'generation_config.json']) {
    const eos = readJsonIfPresent(join(dir, file))?.eos_token_id;
    if (typeof eos === 'number') extraEosIds.push(eos);
    else if (Array.isArray(eos)) extraEosIds.push(...eos.filter((x): x is number => typeof x === 'number'));
  }
  try {
    return new HfTokenizer(dir, tokenizerJson, tokenizerConfig, { chatTemplate, extraEosIds });
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(`${join(dir, 'tokenizer.json')}: cannot build the tokenizer (${(e as Error).message})`);
  }
}
