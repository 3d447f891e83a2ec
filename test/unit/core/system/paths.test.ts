/**
 * Paths in the system file stay inside the system's folder (issue 12, item 3): `../..`, absolute paths and symbolic
 * links pointing out are errors naming the field, unless `allowPathsOutside: true`; a prompt that is a folder or a
 * dataset that is a device is an error naming the file, and neither is ever read.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, parseDataset } from '../../../../src/core/engine/dataset';
import { loadSystemFile } from '../../../../src/core/system';
import type { LoadResult } from '../../../../src/core/system';

/** A system folder with these files (and prompts/a.chord.md), and a folder beside it holding `outside.md`. */
function workspace(files: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'agentchord-paths-'));
  const dir = join(root, 'system');
  const beside = join(root, 'beside');
  mkdirSync(join(dir, 'prompts'), { recursive: true });
  mkdirSync(beside);
  writeFileSync(join(dir, 'prompts', 'a.chord.md'), 'Answer {{task.q}}.\n');
  writeFileSync(join(beside, 'outside.md'), 'Answer.\n');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, beside };
}

/** Loads a one-agent system whose fields are these extra lines. */
function loadWith(dir: string, prompt: string, extra: string[] = []): LoadResult {
  const yaml = ['version: 1', 'models: { r: { provider: replay } }', 'agents:', `  a: { prompt: '${prompt}', model: r, inputs: [task.q] }`, 'output: a', ...extra, ''];
  writeFileSync(join(dir, 'agentchord.yaml'), yaml.join('\n'));
  return loadSystemFile(join(dir, 'agentchord.yaml'));
}

const messages = (r: LoadResult) => r.problems.map((p) => `${p.line}: ${p.message}`);

describe('paths stay inside the system folder', () => {
  test('../.., absolute paths and links pointing out are errors naming the field', () => {
    const { dir, beside } = workspace({ 'data/train.jsonl': '{"q": "x"}\n' });
    symlinkSync(join(beside, 'outside.md'), join(dir, 'prompts', 'link.chord.md'));
    const r = loadWith(dir, '../beside/outside.md', [
      `datasets: { train: ${join(beside, 'outside.md')}, validation: prompts/link.chord.md }`,
      'tools: { module: ../beside/outside.md }',
      'environment: { module: ../beside/outside.md }',
      'loss: { template: ../beside/outside.md }',
    ]);
    assert.equal(r.system, undefined);
    const m = messages(r);
    assert.equal(m.length, 6, m.join('\n'));
    assert.match(m[0], /^4: agents\.a\.prompt: '\.\.\/beside\/outside\.md' is outside the system's folder .*allowPathsOutside: true/);
    assert.match(m[1], /^6: datasets\.train: '.*outside\.md' is outside the system's folder/);
    assert.match(m[2], /^6: datasets\.validation: 'prompts\/link\.chord\.md' is a symbolic link to .*beside.outside\.md, outside the system's folder/);
    assert.match(m[3], /^7: tools\.module: .* is outside/);
    assert.match(m[4], /^8: environment\.module: .* is outside/);
    assert.match(m[5], /^9: loss\.template: .* is outside/);
  });

  test('a link that stays inside is fine; allowPathsOutside: true lets paths point out', () => {
    const { dir } = workspace();
    symlinkSync(join(dir, 'prompts', 'a.chord.md'), join(dir, 'prompts', 'inside.chord.md'));
    assert.deepEqual(messages(loadWith(dir, 'prompts/inside.chord.md')), []);
    const r = loadWith(dir, '../beside/outside.md', ['allowPathsOutside: true']);
    assert.deepEqual(messages(r), []);
    assert.equal(r.system?.allowPathsOutside, true);
    assert.equal(loadWith(dir, 'prompts/a.chord.md').system?.allowPathsOutside, false);
  });

  test('a prompt that is a folder, a dataset that is a device: errors naming the file, nothing read', () => {
    const { dir } = workspace();
    mkdirSync(join(dir, 'prompts', 'folder.chord.md'));
    assert.deepEqual(messages(loadWith(dir, 'prompts/folder.chord.md')), [
      "4: agent 'a': prompt file 'prompts/folder.chord.md' is a folder; it must be a regular file",
    ]);
    const r = loadWith(dir, 'prompts/a.chord.md', ['allowPathsOutside: true', 'datasets: { train: /dev/zero }']);
    assert.deepEqual(messages(r), ["7: datasets.train: file '/dev/zero' is not a regular file (a device, socket or pipe); it must be a regular file"]);
  });

  test('loadDataset checks the file type before reading: /dev/zero and a folder are errors naming the file', () => {
    const { dir } = workspace({ 'data/train.jsonl': '{"q": "x"}\n' });
    const { system } = loadWith(dir, 'prompts/a.chord.md', ['datasets: { train: data/train.jsonl }']);
    assert.ok(system);
    assert.throws(() => loadDataset({ ...system, datasets: { train: '/dev/zero' } }, 'train'), /\/dev\/zero: the train dataset is not a regular file/);
    assert.throws(() => loadDataset({ ...system, datasets: { train: dir } }, 'train'), (err: Error) => err.message.startsWith(`${dir}: the train dataset is a folder`));
  });

  test('a dataset starting with a UTF-8 byte-order mark reads like one without', () => {
    assert.deepEqual(parseDataset('d.jsonl', '\uFEFF{"id": "s1", "q": "x"}\n{"q": "y"}\n'), [
      { id: 's1', fields: { id: 's1', q: 'x' } },
      { id: '2', fields: { q: 'y' } },
    ]);
  });
});
