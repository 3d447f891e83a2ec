// Issue 12: a run folder has one writer at a time (writer.lock with the pid; stale locks taken over), and its final
// status reaches run.json even when no temp file can be written.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder, RunLockedError } from '../../../../src/core/engine/runFolder';
import { RUN_FILES } from '../../../../src/core/engine/types';
import { bareManifest } from './helpers';

function newFolder(): { workspace: string; folder: RunFolder } {
  const workspace = mkdtempSync(join(tmpdir(), 'agentchord-runlock-'));
  const folder = RunFolder.create(workspace, bareManifest(workspace, 'optimize'));
  return { workspace, folder };
}

const lockOf = (folder: RunFolder) => join(folder.dir, RUN_FILES.lock);

describe('run folder writer lock', () => {
  test('lock writes the pid; a second writer is refused until unlock', () => {
    const { workspace, folder } = newFolder();
    try {
      folder.lock();
      const holder = JSON.parse(readFileSync(lockOf(folder), 'utf8'));
      assert.equal(holder.pid, process.pid);
      assert.equal(holder.host, hostname());
      assert.throws(() => RunFolder.open(folder.dir).lock(), (e: unknown) => e instanceof RunLockedError && /one writer at a time/.test(e.message));
      folder.unlock();
      assert.equal(existsSync(lockOf(folder)), false);
      const again = RunFolder.open(folder.dir);
      again.lock();
      again.unlock();
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  test('a lock held by another live process is refused, naming the process and the lock file', () => {
    const { workspace, folder } = newFolder();
    try {
      writeFileSync(lockOf(folder), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
      assert.throws(
        () => folder.lock(),
        (e: unknown) => e instanceof RunLockedError && e.message.includes(`process ${process.ppid} (since 2026-01-01T00:00:00.000Z)`) && e.message.includes(lockOf(folder)),
      );
      // Another host's process cannot be checked: it counts as live.
      writeFileSync(lockOf(folder), JSON.stringify({ pid: 1, host: 'elsewhere.example', startedAt: 'x' }));
      assert.throws(() => folder.lock(), /process 1 on host elsewhere\.example/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  test('a stale lock (its process is gone, or the file is garbage) is taken over', () => {
    const { workspace, folder } = newFolder();
    try {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
      writeFileSync(lockOf(folder), JSON.stringify({ pid: gone, host: hostname(), startedAt: 'then' }));
      folder.lock();
      assert.equal(JSON.parse(readFileSync(lockOf(folder), 'utf8')).pid, process.pid);
      folder.unlock();
      writeFileSync(lockOf(folder), '{"pid": 12'); // cut short by a crash
      folder.lock();
      assert.equal(JSON.parse(readFileSync(lockOf(folder), 'utf8')).pid, process.pid);
      folder.unlock();
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('run.json on a full disk', () => {
  test('when no temp file can be created, the manifest is overwritten in place and still parses', () => {
    const { workspace, folder } = newFolder();
    try {
      const file = join(folder.dir, RUN_FILES.manifest);
      const sizeBefore = fs.statSync(file).size;
      const original = fs.openSync;
      const full = mock.method(fs, 'openSync', (path: fs.PathLike, ...rest: unknown[]) => {
        if (String(path).endsWith('.tmp')) throw Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC' });
        return (original as (...a: unknown[]) => number)(path, ...rest);
      });
      try {
        folder.updateManifest({ status: 'failed', error: `calls.jsonl: ENOSPC: no space left on device, write ${'x'.repeat(5000)}` });
      } finally {
        full.mock.restore();
      }
      assert.equal(fs.statSync(file).size, sizeBefore, 'the file did not grow');
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(manifest.status, 'failed');
      assert.match(manifest.error, /^calls\.jsonl: ENOSPC: no space left on device, write x+\.\.\.x+$/);
      assert.equal(manifest.id, folder.id);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
