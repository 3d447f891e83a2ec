/**
 * Reads a Hugging Face model folder's config.json into one normalised shape, whatever the architecture's
 * spelling and defaults (they follow transformers' LlamaConfig / Qwen2Config / Qwen3Config / MistralConfig).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'qwen3', 'mistral'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** rope_scaling / rope_parameters, normalised. Only the fields the chosen type uses are set. */
export interface RopeScaling {
  type: 'linear' | 'dynamic' | 'llama3' | 'yarn';
  factor: number;
  /** llama3, yarn: the context length the model was pretrained with. */
  originalMaxPositions?: number;
  /** llama3 */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn */
  betaFast?: number;
  betaSlow?: number;
  attentionFactor?: number;
  mscale?: number;
  mscaleAllDim?: number;
  truncate?: boolean;
}

export interface ModelConfig {
  modelType: ModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (qwen2 always; others only if config.attention_bias). */
  attentionBias: boolean;
  /** RMSNorm over each head's q and k before RoPE (qwen3). */
  qkNorm: boolean;
  maxPositions: number;
  bosTokenId?: number;
  eosTokenIds: number[];
  torchDtype?: string;
  /** Sliding attention window in tokens, when the model actually uses one. */
  slidingWindow?: number;
}

/** transformers' defaults for max_position_embeddings when config.json omits it. */
const DEFAULT_MAX_POSITIONS: Record<ModelType, number> = { llama: 2048, qwen2: 32768, qwen3: 32768, mistral: 4096 * 32 };

type Json = Record<string, unknown>;

export function readModelConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError(`${file}: cannot read the model's config.json (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelError(`${file}: expected a JSON object`);
  return parseModelConfig(raw as Json, file);
}

/** Normalises an already-parsed config.json; `file` is only used in error messages. */
export function parseModelConfig(c: Json, file = 'config.json'): ModelConfig {
  const fail = (field: string, why: string): never => {
    throw new ModelError(`${file}: field "${field}" ${why}`);
  };
  const modelType = c.model_type;
  if (typeof modelType !== 'string') fail('model_type', 'is missing');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType as string)) {
    throw new ModelError(`${file}: unsupported model_type "${String(modelType)}" (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const type = modelType as ModelType;

  const int = (field: string, fallback?: number): number => {
    const v = c[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      return fail(field, 'is missing');
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (field: string, fallback: number): number => {
    const v = c[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = c[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') return fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };

  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) fail('num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  if (c.head_dim == null && hiddenSize % numHeads !== 0) fail('hidden_size', `(${hiddenSize}) must be divisible by num_attention_heads (${numHeads})`);
  const headDim = int('head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);

  // transformers v5 moves rope_theta and the scaling into `rope_parameters`; accept both spellings.
  const ropeParameters = c.rope_parameters && typeof c.rope_parameters === 'object' ? (c.rope_parameters as Json) : undefined;
  const ropeThetaField = ropeParameters?.rope_theta !== undefined ? 'rope_parameters.rope_theta' : 'rope_theta';
  const ropeThetaRaw = ropeParameters?.rope_theta ?? c.rope_theta;
  if (ropeThetaRaw !== undefined && ropeThetaRaw !== null && (typeof ropeThetaRaw !== 'number' || !(ropeThetaRaw > 0))) {
    fail(ropeThetaField, `must be a positive number, got ${JSON.stringify(ropeThetaRaw)}`);
  }
  const ropeTheta = (ropeThetaRaw as number | undefined | null) ?? 10000;
  const scalingField = c.rope_scaling != null ? 'rope_scaling' : 'rope_parameters';
  const ropeScaling = parseRopeScaling((c.rope_scaling ?? ropeParameters) as unknown, `${file}: field "${scalingField}"`);

  const eos = c.eos_token_id;
  let eosTokenIds: number[] = [];
  if (typeof eos === 'number') eosTokenIds = [eos];
  else if (Array.isArray(eos) && eos.every((x) => typeof x === 'number')) eosTokenIds = eos as number[];
  else if (eos !== undefined && eos !== null) fail('eos_token_id', `must be a number or a list of numbers, got ${JSON.stringify(eos)}`);
  const bos = c.bos_token_id;
  if (bos !== undefined && bos !== null && typeof bos !== 'number') fail('bos_token_id', `must be a number, got ${JSON.stringify(bos)}`);

  // qwen2/qwen3 carry sliding_window even when use_sliding_window is false: only report a window in use.
  let slidingWindow: number | undefined;
  const sw = c.sliding_window;
  const usesWindow = type === 'mistral' ? true : c.use_sliding_window === true;
  if (usesWindow && typeof sw === 'number' && sw > 0) slidingWindow = sw;

  // The graphs implement SiLU-gated MLPs only: a model with another activation would run and give wrong numbers.
  const act = c.hidden_act ?? c.hidden_activation;
  if (act !== undefined && act !== null && act !== 'silu') fail('hidden_act', `is ${JSON.stringify(act)}; only "silu" is supported`);

  const dtype = c.torch_dtype ?? c.dtype;
  return {
    modelType: type,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size'),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: bool('tie_word_embeddings', false),
    attentionBias: type === 'qwen2' ? true : bool('attention_bias', false),
    qkNorm: type === 'qwen3',
    maxPositions: int('max_position_embeddings', DEFAULT_MAX_POSITIONS[type]),
    bosTokenId: (bos as number | null | undefined) ?? undefined,
    eosTokenIds,
    torchDtype: typeof dtype === 'string' ? dtype : undefined,
    slidingWindow,
  };
}

function parseRopeScaling(raw: unknown, where: string): RopeScaling | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ModelError(`${where} must be an object`);
  const r = raw as Json;
  const kind = r.rope_type ?? r.type ?? 'default';
  if (kind === 'default') return undefined;
  if (kind !== 'linear' && kind !== 'dynamic' && kind !== 'llama3' && kind !== 'yarn') {
    throw new ModelError(`${where}: unsupported rope type "${String(kind)}" (supported: default, linear, dynamic, llama3, yarn)`);
  }
  const optNum = (key: string): number | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(`${where}.${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const factor = optNum('factor');
  if (factor === undefined || !(factor > 0)) throw new ModelError(`${where}.factor must be a positive number for rope type "${kind}"`);
  const out: RopeScaling = { type: kind, factor };
  const set = <K extends keyof RopeScaling>(key: K, value: RopeScaling[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('originalMaxPositions', optNum('original_max_position_embeddings'));
  if (kind === 'llama3') {
    for (const key of ['low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      if (r[key] === undefined) throw new ModelError(`${where}.${key} is required for rope type "llama3"`);
    }
    set('lowFreqFactor', optNum('low_freq_factor'));
    set('highFreqFactor', optNum('high_freq_factor'));
  }
  if (kind === 'yarn') {
    set('betaFast', optNum('beta_fast'));
    set('betaSlow', optNum('beta_slow'));
    set('attentionFactor', optNum('attention_factor'));
    set('mscale', optNum('mscale'));
    set('mscaleAllDim', optNum('mscale_all_dim'));
    if (typeof r.truncate === 'boolean') out.truncate = r.truncate;
  }
  return out;
}
