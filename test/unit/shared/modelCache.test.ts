// Where pulled models live and which texts are repository ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { modelFolder, modelsDir, parseModelRef } from '../../../src/shared/modelCache';

test('modelsDir: $AGENTCHORD_MODELS, else $AGENTCHORD_CACHE/models, else ~/.cache/agentchord/models', () => {
  assert.equal(modelsDir({ AGENTCHORD_MODELS: '/m', AGENTCHORD_CACHE: '/c' }), resolve('/m'));
  assert.equal(modelsDir({ AGENTCHORD_CACHE: '/c' }), resolve('/c/models'));
  assert.equal(modelsDir({}), join(homedir(), '.cache', 'agentchord', 'models'));
});

test('parseModelRef: org/name[@revision]; paths and odd names are not repository ids', () => {
  assert.deepEqual(parseModelRef('Qwen/Qwen3-0.6B'), { repo: 'Qwen/Qwen3-0.6B', revision: 'main' });
  assert.deepEqual(parseModelRef('meta-llama/Llama-3.2-1B@refs/pr/1'), { repo: 'meta-llama/Llama-3.2-1B', revision: 'refs/pr/1' });
  for (const text of ['./models/x', '../a/b', '/abs/path', 'a/b/c', 'single', 'a/..', 'a/b@', 'a/b@../x', '.a/b', 'a--b/c']) {
    assert.equal(parseModelRef(text), undefined, text);
  }
  assert.equal(modelFolder('Qwen/Qwen3-0.6B', 'refs/pr/1', '/m'), join('/m', 'Qwen', 'Qwen3-0.6B', 'refs--pr--1'));
});
