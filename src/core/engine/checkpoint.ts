/**
 * Resuming an optimization: the checkpoint written after every step (and at a budget stop) holds the step to run
 * next, the current prompts, the score history and the usage so far. Only the engine writes it; a person never
 * needs to.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolder } from './runFolder';
import { RUN_FILES, type Checkpoint } from './types';

export interface ResumeState {
  folder: RunFolder;
  checkpoint: Checkpoint;
}

/**
 * Opens a run to resume, holding its writer lock (a RunLockedError when another process is writing it; the caller
 * unlocks when done), with the records of the step that did not finish removed: that step runs again from the
 * start, and its calls must not be in the run twice. Errors name the run folder or checkpoint file at fault.
 */
export function openForResume(runDir: string, agents: readonly string[]): ResumeState {
  const folder = RunFolder.open(runDir);
  const manifest = folder.current;
  if (manifest.kind !== 'optimize') throw new Error(`${runDir}: a '${manifest.kind}' run, not an optimization; only optimizations resume`);
  if (manifest.status === 'completed') throw new Error(`${runDir}: this optimization already completed; nothing to resume`);
  const file = join(runDir, RUN_FILES.checkpoint);
  if (!existsSync(file)) throw new Error(`${file}: no checkpoint (the run stopped before it started); start a new run`);
  folder.lock();
  try {
    const { checkpoint } = folder.read();
    if (!checkpoint || typeof checkpoint.step !== 'number' || typeof checkpoint.prompts !== 'object') {
      throw new Error(`${file}: not a valid checkpoint (fields "step" and "prompts" are required)`);
    }
    const missing = agents.filter((a) => typeof checkpoint.prompts[a] !== 'string');
    if (missing.length) {
      throw new Error(`${file}: no prompt for agent${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: the system changed since this run; start a new run`);
    }
    if (checkpoint.files) folder.truncateRecords(checkpoint.files);
    else folder.dropRecordsFromStep(checkpoint.step);
    return { folder, checkpoint };
  } catch (err) {
    folder.unlock();
    throw err;
  }
}
