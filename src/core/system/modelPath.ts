/**
 * A local model's `path:` in agentchord.yaml: a folder (relative to the system file), or — when no such path exists
 * and it reads as a Hugging Face repository id, `org/name` or `org/name@revision` — the folder `agentchord model
 * pull` put that repository in (src/shared/modelCache.ts). A path that exists always wins, so a folder laid out as
 * `models/chord-retrieval` next to the system file is never mistaken for a repository.
 */
import { join, resolve } from 'node:path';
import { modelFolder, parseModelRef, type ModelRef } from '../../shared/modelCache';

export interface ResolvedModelPath {
  /** Absolute folder. */
  path: string;
  /** Set when `path` is the model cache's folder for this repository id. */
  ref?: ModelRef;
  /** ref only: whether the pulled folder is there (has a config.json). */
  pulled?: boolean;
}

export function resolveModelPath(systemDir: string, written: string, exists: (absolutePath: string) => boolean): ResolvedModelPath {
  const path = resolve(systemDir, written);
  const ref = exists(path) ? undefined : parseModelRef(written);
  if (!ref) return { path };
  const folder = modelFolder(ref.repo, ref.revision);
  return { path: folder, ref, pulled: exists(join(folder, 'config.json')) };
}

/** The command that pulls a reference, as a problem message quotes it. */
export function pullCommand(ref: ModelRef): string {
  return `agentchord model pull ${ref.repo}${ref.revision === 'main' ? '' : ` --revision ${ref.revision}`}`;
}
