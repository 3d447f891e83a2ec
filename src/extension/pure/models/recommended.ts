/**
 * What "AgentChord: Download Attribution Model…" offers, and the edit that makes a pulled model a system's attribution
 * model. Host-free: the command shows these and applies the edit as a reviewable WorkspaceEdit.
 */
import { isMap, isScalar, parseDocument } from 'yaml';

export interface RecommendedModel {
  repo: string;
  /** bf16 weights, as the hub lists them (the whole download is about this). */
  size: string;
  licence: string;
  gated: boolean;
  why: string;
}

/** Small instruction-tuned surrogates the backend runs (docs/choosing-an-attribution-model.md). */
export const RECOMMENDED_MODELS: readonly RecommendedModel[] = [
  { repo: 'Qwen/Qwen3-0.6B', size: '1.2 GB', licence: 'Apache-2.0', gated: false, why: 'the default surrogate: small, reads chat and tool transcripts' },
  { repo: 'Qwen/Qwen3-1.7B', size: '3.4 GB', licence: 'Apache-2.0', gated: false, why: 'reads long transcripts better; about 3x the time per call' },
  { repo: 'Qwen/Qwen2.5-0.5B-Instruct', size: '1.0 GB', licence: 'Apache-2.0', gated: false, why: 'the smallest; Qwen2.5 chat format' },
  { repo: 'meta-llama/Llama-3.2-1B-Instruct', size: '2.5 GB', licence: 'Llama 3.2 Community', gated: true, why: 'for agents on Llama 3: accept the licence on the hub, set the HF_TOKEN secret' },
];

/** The models: key a pulled repository gets in a system file (`Qwen/Qwen3-0.6B` -> `qwen3_0_6b`), unique in `taken`. */
export function modelKeyFor(repo: string, taken: ReadonlySet<string>): string {
  const base = (repo.split('/').pop() ?? repo).toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z_]+/, '') || 'surrogate';
  let key = base;
  for (let n = 2; taken.has(key); n++) key = `${base}_${n}`;
  return key;
}

/**
 * The system file's text with the pulled model added under `models:` (provider local, path = the repository id) and
 * named as `attribution.model` (strategy and topK kept when set). Comments and layout elsewhere are kept (yaml's
 * Document API). Throws when the text is not a YAML mapping.
 */
export function withAttributionModel(text: string, repo: string): { text: string; key: string } {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the system file has YAML errors: ${doc.errors[0].message}`);
  if (!isMap(doc.contents)) throw new Error('the system file is not a YAML mapping');
  const models = doc.get('models');
  const taken = new Set<string>(isMap(models) ? models.items.map((i) => (isScalar(i.key) ? String(i.key.value) : String(i.key))) : []);
  const existing = isMap(models) ? models.items.find((i) => {
    const v = i.value;
    return isMap(v) && v.get('provider') === 'local' && v.get('path') === repo;
  }) : undefined;
  const key = existing ? String(isScalar(existing.key) ? existing.key.value : existing.key) : modelKeyFor(repo, taken);
  if (!existing) doc.setIn(['models', key], doc.createNode({ provider: 'local', path: repo, device: 'auto' }, { flow: true }));
  const attribution = doc.get('attribution');
  if (isMap(attribution)) attribution.set('model', key);
  else doc.set('attribution', doc.createNode({ model: key, strategy: 'max_l1_norm', topK: 1 }, { flow: true }));
  return { text: doc.toString(), key };
}
