// A local model's `path:` given as a repository id resolves to the model cache; an unpulled one is a problem that
// names its line and the pull command; an existing folder of the same shape is still a folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSystemFile } from '../../../../src/core/system';

const work = mkdtempSync(join(tmpdir(), 'agentchord-modelpath-'));
const models = join(work, 'models-cache');
const saved = process.env.AGENTCHORD_MODELS;
before(() => {
  process.env.AGENTCHORD_MODELS = models;
});
after(() => {
  if (saved === undefined) delete process.env.AGENTCHORD_MODELS;
  else process.env.AGENTCHORD_MODELS = saved;
});

function system(path: string): string {
  const dir = mkdtempSync(join(work, 'sys-'));
  mkdirSync(join(dir, 'prompts'));
  writeFileSync(join(dir, 'prompts', 'a.chord.md'), 'Answer {{task.q}}\n');
  const yaml = [
    'version: 1',
    'models:',
    '  surrogate:',
    '    provider: local',
    `    path: ${path}`,
    'agents:',
    '  a: { prompt: prompts/a.chord.md, model: surrogate, inputs: [task.q] }',
    'output: a',
    'attribution: { model: surrogate }',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'agentchord.yaml'), yaml);
  return dir;
}

test('a pulled repository id resolves to its folder in the model cache (revision too)', () => {
  for (const [written, revision] of [['Qwen/Qwen3-0.6B', 'main'], ['Qwen/Qwen3-0.6B@v2', 'v2']]) {
    const folder = join(models, 'Qwen', 'Qwen3-0.6B', revision);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'config.json'), '{}');
    const result = loadSystemFile(join(system(written), 'agentchord.yaml'));
    assert.deepEqual(result.problems, []);
    const model = result.system!.models.surrogate;
    assert.ok(model.kind === 'local');
    assert.equal(model.path, folder);
  }
});

test('an unpulled repository id is a problem on its line that says how to pull it', () => {
  const dir = system('acme/not-pulled');
  const result = loadSystemFile(join(dir, 'agentchord.yaml'));
  assert.equal(result.problems.length, 1);
  const [problem] = result.problems;
  assert.equal(problem.line, 5);
  assert.equal(problem.file, join(dir, 'agentchord.yaml'));
  assert.match(problem.message, /^model 'surrogate': model folder 'acme\/not-pulled' not found, nor pulled into the model cache as a repository \(/);
  assert.match(problem.message, /run: agentchord model pull acme\/not-pulled$/);
  const withRevision = loadSystemFile(join(system('acme/not-pulled@dev'), 'agentchord.yaml'));
  assert.match(withRevision.problems[0].message, /run: agentchord model pull acme\/not-pulled --revision dev$/);
});

test('an existing folder that looks like org/name is a folder, not a repository id', () => {
  const dir = system('weights/tiny');
  mkdirSync(join(dir, 'weights', 'tiny'), { recursive: true });
  const result = loadSystemFile(join(dir, 'agentchord.yaml'));
  assert.deepEqual(result.problems, []);
  const model = result.system!.models.surrogate;
  assert.ok(model.kind === 'local' && model.path === join(dir, 'weights', 'tiny'));
});
