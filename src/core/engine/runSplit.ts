/**
 * "Run a split": a forward run of some samples of a dataset split as a run folder of its own (kind `run`), what
 * `agentchord run` and the extension's Run command both do. The folder is created with the run's manifest and locked
 * for this process; runForward records every call and marks a failure or a cancel; a run that ends normally is marked
 * completed here. The lock goes whatever happens.
 */
import type { Split, TaskSample } from './dataset';
import { runForward, type ForwardOptions, type SampleRun } from './forward';
import { manifestAttribution, RunFolder } from './runFolder';

export interface RunSplitOptions extends Omit<ForwardOptions, 'runFolder' | 'samples'> {
  split: Split;
  samples: TaskSample[];
  /** Called with the new folder before any sample runs (to show or track it). */
  onFolder?: (folder: RunFolder) => void;
}

export async function runSplit(o: RunSplitOptions): Promise<{ folder: RunFolder; runs: SampleRun[] }> {
  const { split, samples, onFolder, ...forward } = o;
  const folder = RunFolder.create(o.system.dir, {
    systemFile: o.system.file,
    kind: 'run',
    status: 'running',
    dataset: { split, file: o.system.datasets[split]!, samples: samples.length },
    attribution: manifestAttribution(o.system, o.attributor !== undefined),
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  }, { lock: true });
  try {
    onFolder?.(folder);
    const runs = await runForward({ ...forward, samples, runFolder: folder });
    folder.updateManifest({ status: 'completed' });
    return { folder, runs };
  } finally {
    folder.unlock();
  }
}
