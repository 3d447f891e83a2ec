/** Finding system files on disk, and the file host that reads the real file system. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FileHost } from './types';

export const SYSTEM_FILE_NAME = 'agentchord.yaml';

/** Folders never searched: dependencies, VCS data, build output and AgentChord's own run data. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', 'dist', 'out', '.agentchord']);

export const nodeFileHost: FileHost = {
  exists: (absolutePath) => existsSync(absolutePath),
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
