// The edit "Download Attribution Model…" proposes: the pulled model under models: and as attribution.model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { modelKeyFor, RECOMMENDED_MODELS, withAttributionModel } from '../../../../../src/extension/pure/models/recommended';

test('the recommended list: the four surrogates of the docs, with size and licence', () => {
  assert.deepEqual(RECOMMENDED_MODELS.map((m) => m.repo), ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B', 'Qwen/Qwen2.5-0.5B-Instruct', 'meta-llama/Llama-3.2-1B-Instruct']);
  assert.ok(RECOMMENDED_MODELS.every((m) => m.size && m.licence));
  assert.equal(modelKeyFor('Qwen/Qwen3-0.6B', new Set()), 'qwen3-0_6b');
  assert.equal(modelKeyFor('Qwen/Qwen3-0.6B', new Set(['qwen3-0_6b'])), 'qwen3-0_6b_2');
});

test('adds the model and names it as attribution.model, keeping comments, strategy and topK', () => {
  const text = '# my system\nversion: 1\nmodels:\n  gpt: { provider: openai, model: gpt-4o-mini }  # the agents\nattribution: { strategy: mean_l1_norm, topK: 2 }\n';
  const { text: out, key } = withAttributionModel(text, 'Qwen/Qwen3-0.6B');
  const parsed = parse(out) as { models: Record<string, { provider: string; path: string }>; attribution: { model: string; strategy: string; topK: number } };
  assert.equal(parsed.models[key].path, 'Qwen/Qwen3-0.6B');
  assert.equal(parsed.models[key].provider, 'local');
  assert.deepEqual(parsed.attribution, { strategy: 'mean_l1_norm', topK: 2, model: key });
  assert.match(out, /# my system/);
  assert.match(out, /# the agents/);
  // Without an attribution section one is added; a model already there is reused, not added twice.
  const bare = withAttributionModel('version: 1\nmodels:\n  s: { provider: local, path: Qwen/Qwen3-0.6B }\n', 'Qwen/Qwen3-0.6B');
  assert.equal(bare.key, 's');
  assert.deepEqual((parse(bare.text) as { attribution: object }).attribution, { model: 's', strategy: 'max_l1_norm', topK: 1 });
  assert.throws(() => withAttributionModel('- a list\n', 'x/y'), /not a YAML mapping/);
});
