/**
 * The run folders of a workspace, newest first: the one lister the CLI, the extension's run store and the graph
 * panel share (run ids start with a sortable UTC timestamp, so the order is the ids' order).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runsDirFor } from './runFolder';
import { RUN_FILES } from './types';

/** Folders under `<workspaceDir>/.agentchord/runs` that hold a run.json, newest first, as absolute paths. */
export function listRunDirs(workspaceDir: string): string[] {
  const root = runsDirFor(workspaceDir);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, RUN_FILES.manifest)))
    .map((d) => d.name)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .map((name) => join(root, name));
}
