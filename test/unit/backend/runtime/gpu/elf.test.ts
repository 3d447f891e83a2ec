import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elfNeeded } from '../../../../../src/backend/runtime/gpu/elf';
import { locateOrt } from '../../../../../src/backend/runtime/gpu/ortPackage';
import { minimalElf } from './elfFixture';

const work = mkdtempSync(join(tmpdir(), 'agentchord-elf-'));

test('DT_NEEDED entries of an ELF64 file, in order', () => {
  const file = join(work, 'lib.so');
  writeFileSync(file, minimalElf(['libcudart.so.12', 'libcudnn.so.9', 'libc.so.6']));
  assert.deepEqual(elfNeeded(file), ['libcudart.so.12', 'libcudnn.so.9', 'libc.so.6']);
});

test('a file that is not ELF gives undefined', () => {
  const file = join(work, 'fake.so');
  writeFileSync(file, 'fake library\n'.repeat(20));
  assert.equal(elfNeeded(file), undefined);
});

test("the real libonnxruntime.so links the C library", { skip: process.platform !== 'linux' }, () => {
  const needed = elfNeeded(join(locateOrt().bindingDir, 'libonnxruntime.so.1'));
  assert.ok(needed?.includes('libc.so.6'), String(needed));
});
