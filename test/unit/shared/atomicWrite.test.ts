// Tests of src/shared/atomicWrite.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJsonl, errorNamingFile, readJsonl, writeFileAtomic, writeJsonAtomic } from '../../../src/shared/atomicWrite';

const freshDir = () => mkdtempSync(join(tmpdir(), 'agentchord-atomic-'));

test('writeFileAtomic writes, replaces, keeps the permissions and leaves no temp file', async () => {
  const dir = freshDir();
  const path = join(dir, 'prompt.md');
  await writeFileAtomic(path, 'first');
  assert.equal(readFileSync(path, 'utf8'), 'first');
  chmodSync(path, 0o600);
  await writeFileAtomic(path, new TextEncoder().encode('second'));
  assert.equal(readFileSync(path, 'utf8'), 'second');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['prompt.md']);
});

test('createDirs makes missing folders; without it a missing folder is an error', async () => {
  const dir = freshDir();
  await assert.rejects(writeFileAtomic(join(dir, 'a', 'b', 'x.json'), '{}'), /ENOENT/);
  await writeFileAtomic(join(dir, 'a', 'b', 'x.json'), '{}', { createDirs: true });
  assert.equal(readFileSync(join(dir, 'a', 'b', 'x.json'), 'utf8'), '{}');
});

test('a failed write (a folder in the way) leaves no partial or temp file behind', async () => {
  const dir = freshDir();
  const target = join(dir, 'trace.json');
  mkdirSync(target);
  writeFileSync(join(target, 'keep.txt'), 'untouched');
  await assert.rejects(writeFileAtomic(target, 'x'.repeat(100_000)));
  assert.deepEqual(readdirSync(dir), ['trace.json'], 'no temp file left');
  assert.deepEqual(readdirSync(target), ['keep.txt']);
  assert.equal(readFileSync(join(target, 'keep.txt'), 'utf8'), 'untouched');
});

test('writeJsonAtomic: a value that cannot be serialised leaves the old file intact', async () => {
  const dir = freshDir();
  const path = join(dir, 'proposal.json');
  await writeJsonAtomic(path, { version: 1 });
  assert.equal(readFileSync(path, 'utf8'), '{\n  "version": 1\n}\n');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  await assert.rejects(writeJsonAtomic(path, circular), /circular/i);
  await assert.rejects(writeJsonAtomic(path, { big: 1n }), /BigInt/);
  await assert.rejects(writeJsonAtomic(path, undefined), /not representable/);
  assert.equal(readFileSync(path, 'utf8'), '{\n  "version": 1\n}\n');
  assert.deepEqual(readdirSync(dir), ['proposal.json']);
});

test('appendJsonl appends lines; a bad value appends nothing; readJsonl skips a truncated last line only', async () => {
  const dir = freshDir();
  const path = join(dir, 'trace.jsonl');
  await appendJsonl(path, { step: 1 });
  await appendJsonl(path, [{ step: 2 }, { step: 3 }]);
  await assert.rejects(appendJsonl(path, [{ step: 4 }, { bad: 1n }]));
  assert.deepEqual(await readJsonl(path), [{ step: 1 }, { step: 2 }, { step: 3 }]);
  appendFileSync(path, '{"step": 4, "trunc');
  assert.deepEqual(await readJsonl(path), [{ step: 1 }, { step: 2 }, { step: 3 }]);
  const broken = join(dir, 'broken.jsonl');
  writeFileSync(broken, '{"a":1}\nnot json\n{"b":2}\n');
  await assert.rejects(readJsonl(broken), new RegExp(`broken\\.jsonl:2: not valid JSON`));
});

test('errors name the file: a full disk says which file could not be written', async () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const named = errorNamingFile('/w/prompts/a.chord.md', enospc) as NodeJS.ErrnoException;
  assert.equal(named.message, '/w/prompts/a.chord.md: ENOSPC: no space left on device, write');
  assert.equal(named.code, 'ENOSPC', 'the code is kept for callers that test it');
  assert.equal(errorNamingFile('/w/prompts/a.chord.md', named), named, 'named once, not twice');
  // A real failure whose own message names only the temp file.
  const dir = freshDir();
  writeFileSync(join(dir, 'file'), '');
  const target = join(dir, 'file', 'trace.json');
  await assert.rejects(writeFileAtomic(target, '{}'), (err: NodeJS.ErrnoException) => err.message.startsWith(`${target}: `) && err.code === 'ENOTDIR');
  await assert.rejects(appendJsonl(target, [1]), (err: Error) => err.message.startsWith(`${target}: `));
});

test('a symbolic link is written through: the target changes, the link stays a link', async () => {
  const dir = freshDir();
  const target = join(dir, 'real.md');
  const link = join(dir, 'link.md');
  writeFileSync(target, 'old');
  symlinkSync(target, link);
  await writeFileAtomic(link, 'new');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(target, 'utf8'), 'new');
  symlinkSync(join(dir, 'missing.md'), join(dir, 'dangling.md'));
  await assert.rejects(writeFileAtomic(join(dir, 'dangling.md'), 'x'), /dangling\.md: a symbolic link whose target does not exist/);
  assert.ok(lstatSync(join(dir, 'dangling.md')).isSymbolicLink());
});
