/**
 * Writes a small, randomly initialised model folder in Hugging Face layout (config.json, safetensors weights,
 * tokenizer.json, tokenizer_config.json) for tests and benchmarks: the real loader and graph builder run on it
 * exactly as on a downloaded model.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type SafetensorsDtype, type TensorToWrite } from './safetensors';
import { seededRandom } from '../../shared/random';

export type RandomModelArch = 'llama' | 'qwen2' | 'qwen3' | 'mistral';

export interface RandomModelSpec {
  arch: RandomModelArch;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  vocabSize: number;
  /** Default hiddenSize / numHeads. */
  headDim?: number;
  /** Tie lm_head to the embeddings (no lm_head.weight). Default false. */
  tie?: boolean;
  seed: number;
  /** Storage dtype of the weights. Default F32. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Split the weights over this many files + model.safetensors.index.json. Default 1 (model.safetensors). */
  shards?: number;
  /** Default 2048. */
  maxPositions?: number;
  /** Default 10000. */
  ropeTheta?: number;
}

/** Special tokens of the generated tokenizer, by architecture family. */
export const RANDOM_MODEL_SPECIALS = {
  llama: { unk: '<unk>', bos: '<s>', eos: '</s>' },
  qwen: { endOfText: '<|endoftext|>', imStart: '<|im_start|>', imEnd: '<|im_end|>' },
} as const;

/** The ChatML template written for qwen-style random models (Qwen2's template without its default system prompt). */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** Standard normal samples by Box-Muller over mulberry32. */
function normalSampler(seed: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log is finite
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

const isQwen = (arch: RandomModelArch) => arch === 'qwen2' || arch === 'qwen3';

function validate(spec: RandomModelSpec): void {
  const positive = ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'intermediateSize', 'vocabSize'] as const;
  for (const key of positive) {
    if (!Number.isInteger(spec[key]) || spec[key] <= 0) throw new Error(`writeRandomModel: spec.${key} must be a positive integer, got ${spec[key]}`);
  }
  if (spec.numHeads % spec.numKvHeads !== 0) throw new Error(`writeRandomModel: spec.numKvHeads (${spec.numKvHeads}) must divide spec.numHeads (${spec.numHeads})`);
  const headDim = spec.headDim ?? spec.hiddenSize / spec.numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`writeRandomModel: head dimension must be an even integer, got ${headDim}`);
  if (spec.shards !== undefined && (!Number.isInteger(spec.shards) || spec.shards < 1)) throw new Error(`writeRandomModel: spec.shards must be a positive integer`);
}

/** config.json as transformers' save_pretrained writes it for the architecture (fields it reads, plus the usual extras). */
export function randomModelConfigJson(spec: RandomModelSpec): Record<string, unknown> {
  const headDim = spec.headDim ?? spec.hiddenSize / spec.numHeads;
  const tokens = specialTokenIds(spec);
  const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[spec.dtype ?? 'F32'];
  const common = {
    hidden_act: 'silu',
    hidden_size: spec.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: spec.intermediateSize,
    max_position_embeddings: spec.maxPositions ?? 2048,
    num_attention_heads: spec.numHeads,
    num_hidden_layers: spec.numLayers,
    num_key_value_heads: spec.numKvHeads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: spec.ropeTheta ?? 10000,
    tie_word_embeddings: spec.tie ?? false,
    torch_dtype: torchDtype,
    transformers_version: '4.51.0',
    use_cache: true,
    vocab_size: spec.vocabSize,
    bos_token_id: tokens.bos,
    eos_token_id: tokens.eos,
  };
  switch (spec.arch) {
    case 'llama':
      return { architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, attention_dropout: 0, head_dim: headDim, mlp_bias: false, pretraining_tp: 1, ...common };
    case 'mistral':
      return { architectures: ['MistralForCausalLM'], model_type: 'mistral', attention_dropout: 0, head_dim: headDim, sliding_window: null, ...common };
    case 'qwen2':
      if (headDim !== spec.hiddenSize / spec.numHeads) throw new Error('writeRandomModel: qwen2 has no head_dim setting; leave spec.headDim unset');
      return { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', attention_dropout: 0, max_window_layers: spec.numLayers, sliding_window: common.max_position_embeddings, use_sliding_window: false, ...common };
    case 'qwen3':
      return { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', attention_bias: false, attention_dropout: 0, head_dim: headDim, max_window_layers: spec.numLayers, sliding_window: null, use_sliding_window: false, ...common };
  }
}

/** Weight tensors in Hugging Face names and layouts (linear weights [out, in]). */
export function randomModelTensors(spec: RandomModelSpec): Array<{ name: string; shape: number[]; data: Float32Array }> {
  const { hiddenSize: h, intermediateSize: ff, vocabSize: vocab, numHeads, numKvHeads } = spec;
  const headDim = spec.headDim ?? h / numHeads;
  const normal = normalSampler(spec.seed);
  const tensors: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  const gaussian = (name: string, shape: number[], std: number, mean = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * normal();
    tensors.push({ name, shape, data });
  };
  // Real models init linear weights with std 0.02. Queries and keys get std 1/sqrt(hidden) instead so that
  // attention scores are O(1) and the softmax is not uniform (gradients then depend on the context); norm weights
  // are 1 ± noise so the per-channel scales are not all equal.
  const qkStd = Math.max(0.02, 1 / Math.sqrt(h));
  gaussian('model.embed_tokens.weight', [vocab, h], 0.02);
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `model.layers.${i}`;
    gaussian(`${p}.input_layernorm.weight`, [h], 0.05, 1);
    gaussian(`${p}.self_attn.q_proj.weight`, [numHeads * headDim, h], qkStd);
    gaussian(`${p}.self_attn.k_proj.weight`, [numKvHeads * headDim, h], qkStd);
    gaussian(`${p}.self_attn.v_proj.weight`, [numKvHeads * headDim, h], 0.02);
    if (spec.arch === 'qwen2') {
      gaussian(`${p}.self_attn.q_proj.bias`, [numHeads * headDim], 0.02);
      gaussian(`${p}.self_attn.k_proj.bias`, [numKvHeads * headDim], 0.02);
      gaussian(`${p}.self_attn.v_proj.bias`, [numKvHeads * headDim], 0.02);
    }
    gaussian(`${p}.self_attn.o_proj.weight`, [h, numHeads * headDim], 0.02);
    if (spec.arch === 'qwen3') {
      gaussian(`${p}.self_attn.q_norm.weight`, [headDim], 0.05, 1);
      gaussian(`${p}.self_attn.k_norm.weight`, [headDim], 0.05, 1);
    }
    gaussian(`${p}.post_attention_layernorm.weight`, [h], 0.05, 1);
    gaussian(`${p}.mlp.gate_proj.weight`, [ff, h], 0.02);
    gaussian(`${p}.mlp.up_proj.weight`, [ff, h], 0.02);
    gaussian(`${p}.mlp.down_proj.weight`, [h, ff], 0.02);
  }
  gaussian('model.norm.weight', [h], 0.05, 1);
  if (!spec.tie) gaussian('lm_head.weight', [vocab, h], 0.02);
  return tensors;
}

/** Writes the whole model folder (creating it). Existing files of the same names are replaced atomically. */
export function writeRandomModel(dir: string, spec: RandomModelSpec): void {
  validate(spec);
  mkdirSync(dir, { recursive: true });
  const dtype: SafetensorsDtype = spec.dtype ?? 'F32';
  const tensors: TensorToWrite[] = randomModelTensors(spec).map((t) => ({ ...t, dtype }));
  const shards = spec.shards ?? 1;
  if (shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  } else {
    // Greedy split by size, keeping tensor order (as save_pretrained's max_shard_size does).
    const bytesOf = (t: TensorToWrite) => t.data.byteLength / (t.data instanceof Float32Array && dtype !== 'F32' ? 2 : 1);
    const total = tensors.reduce((s, t) => s + bytesOf(t), 0);
    const target = total / shards;
    const groups: TensorToWrite[][] = Array.from({ length: shards }, () => []);
    let g = 0;
    let filled = 0;
    tensors.forEach((t, i) => {
      const remainingTensors = tensors.length - i;
      const remainingShards = shards - g;
      if (groups[g].length > 0 && g < shards - 1 && (filled + bytesOf(t) > target || remainingTensors <= remainingShards - 1)) {
        g++;
        filled = 0;
      }
      groups[g].push(t);
      filled += bytesOf(t);
    });
    const weightMap: Record<string, string> = {};
    groups.forEach((group, k) => {
      const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      writeSafetensors(join(dir, file), group, { format: 'pt' });
      for (const t of group) weightMap[t.name] = file;
    });
    writeJsonAtomic(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: total }, weight_map: weightMap });
  }
  const config = randomModelConfigJson(spec);
  writeJsonAtomic(join(dir, 'config.json'), config);
  // Like Qwen's instruct models, qwen-style random models stop on <|im_end|> and on <|endoftext|>.
  const specials = specialTokenIds(spec);
  const eos = isQwen(spec.arch) ? [specials.eos, specials.ids[RANDOM_MODEL_SPECIALS.qwen.endOfText]] : specials.eos;
  writeJsonAtomic(join(dir, 'generation_config.json'), { bos_token_id: specials.bos, eos_token_id: eos, transformers_version: config.transformers_version });
  const { tokenizerJson, tokenizerConfigJson } = randomTokenizer(spec);
  writeJsonAtomic(join(dir, 'tokenizer.json'), tokenizerJson);
  writeJsonAtomic(join(dir, 'tokenizer_config.json'), tokenizerConfigJson);
}

function writeJsonAtomic(path: string, value: unknown): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2) + '\n');
  renameSync(temp, path);
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer: a byte-level BPE (GPT-2 / Qwen style) whose vocabulary has exactly spec.vocabSize entries.

/** GPT-2's bytes_to_unicode: each byte as a printable character (space is 'Ġ', newline 'Ċ'). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return table;
}

function specialTokenIds(spec: Pick<RandomModelSpec, 'arch' | 'vocabSize'>): { bos?: number; eos: number; ids: Record<string, number> } {
  if (isQwen(spec.arch)) {
    // Qwen puts its special tokens after the ordinary vocabulary.
    const { endOfText, imStart, imEnd } = RANDOM_MODEL_SPECIALS.qwen;
    const n = spec.vocabSize;
    const ids = { [endOfText]: n - 3, [imStart]: n - 2, [imEnd]: n - 1 };
    return { bos: n - 3, eos: n - 1, ids };
  }
  const { unk, bos, eos } = RANDOM_MODEL_SPECIALS.llama;
  return { bos: 1, eos: 2, ids: { [unk]: 0, [bos]: 1, [eos]: 2 } };
}

// Common English and multi-agent words: their pieces make real text tokenise into a few tokens per word.
const WORDS = (
  'the of and to a in is you that it he was for on are as with his they I at be this have from or one had by word but ' +
  'not what all were we when your can said there use an each which she do how their if will up other about out many ' +
  'then them these so some her would make like him into time has look two more write go see number no way could people ' +
  'my than first water been call who its now find long down day did get come made may part agent answer question user ' +
  'assistant system tool plan check result task error hotel train restaurant book price name area food address phone ' +
  'once upon little girl boy happy big friend play'
).split(' ');

function randomTokenizer(spec: RandomModelSpec): { tokenizerJson: Record<string, unknown>; tokenizerConfigJson: Record<string, unknown> } {
  const specials = specialTokenIds(spec);
  const specialIds = new Set(Object.values(specials.ids));
  const ordinaryCount = spec.vocabSize - specialIds.size;
  const bytes = bytesToUnicode();
  const byteLevel = ordinaryCount >= 256;
  // Too small for all 256 bytes: keep the most useful symbols and map the rest to the unknown token.
  const frequencyOrder = 'Ġetaoinshrdlucmfwypvbgkjqxz.,ĊETAOINSHRDLUCMFWYPVBGKJQXZ0123456789!?:;\'"-()';
  const alphabet = byteLevel ? bytes : [...new Set([...frequencyOrder, ...bytes])].slice(0, ordinaryCount);
  if (alphabet.length === 0) throw new Error(`writeRandomModel: spec.vocabSize (${spec.vocabSize}) leaves no room for ordinary tokens`);

  const vocab = new Map<string, number>();
  let nextId = 0;
  const addPiece = (piece: string) => {
    while (specialIds.has(nextId)) nextId++;
    vocab.set(piece, nextId++);
  };
  for (const symbol of alphabet) addPiece(symbol);
  const merges: Array<[string, string]> = [];
  const tryMerge = (left: string, right: string): boolean => {
    if (vocab.size >= ordinaryCount) return false;
    if (!vocab.has(left) || !vocab.has(right) || vocab.has(left + right)) return true;
    merges.push([left, right]);
    addPiece(left + right);
    return true;
  };
  // A miniature BPE training run over the word list (each word with and without its leading space), merging the
  // most frequent pair until every word is one token: then those words encode to a single id.
  const words = WORDS.flatMap((w) => ['Ġ' + w, w]).map((w) => [...w].filter((ch) => vocab.has(ch)));
  while (vocab.size < ordinaryCount) {
    const counts = new Map<string, number>();
    for (const symbols of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] + '\u0000' + symbols[i + 1];
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, count] of counts) {
      if (count > bestCount) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split('\u0000');
    merges.push([left, right]);
    if (!vocab.has(left + right)) addPiece(left + right);
    for (const symbols of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) symbols.splice(i, 2, left + right);
      }
    }
  }
  // Fill the rest with letter sequences, shortest first, so the vocabulary has exactly vocabSize entries.
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  let frontier = ['Ġ', ...letters];
  while (vocab.size < ordinaryCount && frontier.length) {
    const next: string[] = [];
    for (const stem of frontier) {
      for (const c of letters) {
        if (vocab.size >= ordinaryCount) break;
        tryMerge(stem, c);
        if (vocab.has(stem + c)) next.push(stem + c);
      }
    }
    frontier = next;
  }
  // Tiny alphabets can run out of letter sequences: pad with unreachable placeholder pieces so every id has a piece.
  for (let k = 0; vocab.size < ordinaryCount; k++) addPiece(`<|extra_${k}|>`);

  const addedTokens = Object.entries(specials.ids)
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const allVocab: Record<string, number> = Object.fromEntries([...vocab, ...Object.entries(specials.ids)].sort((a, b) => a[1] - b[1]));
  const qwen = isQwen(spec.arch);
  const byteLevelStep = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const bosToken = RANDOM_MODEL_SPECIALS.llama.bos;
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: qwen ? { type: 'NFC' } : null,
    pre_tokenizer: byteLevelStep,
    post_processor: qwen
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bosToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: bosToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bosToken, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { [bosToken]: { id: bosToken, ids: [specials.bos], tokens: [bosToken] } },
        },
    decoder: byteLevelStep,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: byteLevel ? null : qwen ? RANDOM_MODEL_SPECIALS.qwen.endOfText : RANDOM_MODEL_SPECIALS.llama.unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: allVocab,
      merges,
    },
  };
  const tokenizerConfigJson = qwen
    ? {
        add_prefix_space: false,
        bos_token: null,
        eos_token: RANDOM_MODEL_SPECIALS.qwen.imEnd,
        pad_token: RANDOM_MODEL_SPECIALS.qwen.endOfText,
        unk_token: null,
        chat_template: CHATML_TEMPLATE,
        model_max_length: spec.maxPositions ?? 2048,
        tokenizer_class: 'Qwen2Tokenizer',
        clean_up_tokenization_spaces: false,
      }
    : {
        add_bos_token: true,
        add_eos_token: false,
        bos_token: RANDOM_MODEL_SPECIALS.llama.bos,
        eos_token: RANDOM_MODEL_SPECIALS.llama.eos,
        unk_token: RANDOM_MODEL_SPECIALS.llama.unk,
        model_max_length: spec.maxPositions ?? 2048,
        tokenizer_class: 'PreTrainedTokenizerFast',
        clean_up_tokenization_spaces: false,
      };
  return { tokenizerJson, tokenizerConfigJson };
}
