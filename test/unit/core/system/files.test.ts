import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSystemFiles, formatProblem, loadSystemFile, SYSTEM_FILE_NAME } from '../../../../src/core/system';
import type { Problem } from '../../../../src/core/system';

describe('finding and reporting system files', () => {
  test('findSystemFiles searches below the root, skipping build, dependency and VCS folders', () => {
    const root = mkdtempSync(join(tmpdir(), 'agentchord-find-'));
    try {
      const place = (...parts: string[]) => {
        mkdirSync(join(root, ...parts), { recursive: true });
        writeFileSync(join(root, ...parts, SYSTEM_FILE_NAME), 'version: 1\n');
      };
      place();
      place('b', 'deep', 'er');
      place('a');
      for (const skipped of ['node_modules', '.git', 'dist', 'out', '.agentchord']) place(skipped);
      place('node_modules', 'pkg');
      writeFileSync(join(root, 'a', 'agentchord.yml'), ''); // only the exact name counts
      symlinkSync(root, join(root, 'a', 'loop')); // a link back to the root must not hang the search
      assert.deepEqual(findSystemFiles(root), [
        join(root, 'a', SYSTEM_FILE_NAME),
        join(root, SYSTEM_FILE_NAME),
        join(root, 'b', 'deep', 'er', SYSTEM_FILE_NAME),
      ].sort());
      assert.deepEqual(findSystemFiles(join(root, 'missing')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('formatProblem: file relative to the current folder when inside it', () => {
    const problem = (file: string, severity: Problem['severity'] = 'error'): Problem => ({
      file, line: 3, column: 7, endLine: 3, endColumn: 9, message: 'bad thing', severity,
    });
    assert.equal(formatProblem(problem(join(process.cwd(), 'x', 'agentchord.yaml'))), join('x', 'agentchord.yaml') + ':3:7: bad thing');
    assert.equal(formatProblem(problem('/elsewhere/agentchord.yaml')), '/elsewhere/agentchord.yaml:3:7: bad thing');
    assert.equal(formatProblem(problem('/elsewhere/agentchord.yaml', 'warning')), '/elsewhere/agentchord.yaml:3:7: warning: bad thing');
  });

  test('loadSystemFile: an unreadable path is one problem at 1:1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-read-'));
    try {
      const result = loadSystemFile(dir); // a folder cannot be read as a file
      assert.equal(result.system, undefined);
      assert.equal(result.problems.length, 1);
      assert.deepEqual([result.problems[0].line, result.problems[0].column, result.problems[0].file], [1, 1, dir]);
      assert.match(result.problems[0].message, /^cannot read the file: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
