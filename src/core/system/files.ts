/** Finding system files on disk, and the file host that reads the real file system. */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { FileHost, FileKind } from './types';

export const SYSTEM_FILE_NAME = 'agentchord.yaml';

/** Folders never searched: dependencies, VCS data, build output and AgentChord's own run data. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', 'dist', 'out', '.agentchord']);

/** Largest file the loader reads to check its contents (prompt files, loss templates); bigger ones are not parsed. */
export const MAX_CHECKED_FILE_BYTES = 4 * 1024 * 1024;

/** What a path is on disk, following links; never throws. */
export function fileKindOnDisk(absolutePath: string): FileKind {
  try {
    const s = statSync(absolutePath);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

/** The path with its links resolved, or the path itself when it cannot be resolved (missing, a link loop). */
export function realPathOnDisk(absolutePath: string): string {
  try {
    return realpathSync(absolutePath);
  } catch {
    return absolutePath;
  }
}

/**
 * The text of a regular file of at most MAX_CHECKED_FILE_BYTES, else undefined: the type is checked first, so a
 * device such as /dev/zero is never read.
 */
export function readCheckedText(absolutePath: string): string | undefined {
  try {
    const s = statSync(absolutePath);
    if (!s.isFile() || s.size > MAX_CHECKED_FILE_BYTES) return undefined;
    return readFileSync(absolutePath, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `path` is `dir` or lies below it (both absolute, compared as written). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel));
}

export const nodeFileHost: FileHost = {
  exists: (absolutePath) => existsSync(absolutePath),
  kind: fileKindOnDisk,
  realPath: realPathOnDisk,
  readText: readCheckedText,
};

/**
 * Every agentchord.yaml below `rootDir` (absolute paths, sorted). Symbolic links to folders are not followed, so a
 * link loop cannot hang the search. Unreadable folders are skipped.
 */
export function findSystemFiles(rootDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.name === SYSTEM_FILE_NAME && (entry.isFile() || entry.isSymbolicLink())) {
        found.push(join(dir, entry.name));
      }
    }
  };
  walk(rootDir);
  return found.sort();
}
