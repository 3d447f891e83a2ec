/**
 * Reads what the graph view needs from a system's run folders (`<system dir>/.agentchord/runs/<runId>/`).
 * Plain Node file access, no vscode: the panel calls it, and so can tests.
 */
import { basename, join } from 'node:path';
import { readJsonlSync, RunFolder, runsDirFor } from '../../../core/engine/runFolder';
import { listRunDirs } from '../../../core/engine/runList';
import { RUN_FILES, type AgentCall, type BlockSource, type SampleOutcome } from '../../../core/engine/types';
import type { SystemConfig } from '../../../core/system/types';
import type { RunChoice } from '../../../protocol/webview';
import { agentNodeId, ENVIRONMENT_NODE, runChoice, taskNodeId, type GraphRunData, type RunContents } from './viewModel';

export interface GraphSelection {
  /** Run to show; default: the newest. */
  runId?: string;
  /** Two runs to compare. */
  compare?: { a: string; b: string };
}

export interface LoadedRunData extends GraphRunData {
  /** Folder of the shown run (what `agentchord.showCallInput` needs). */
  runDir?: string;
  /** Runs that could not be read, with the reason naming the file at fault. */
  unreadable: string[];
}

/** Run folder ids of a system, newest first. */
export function listRunIds(system: Pick<SystemConfig, 'dir'>): string[] {
  return listRunDirs(system.dir).map((dir) => basename(dir));
}

export function runDirOf(system: Pick<SystemConfig, 'dir'>, runId: string): string {
  return join(runsDirFor(system.dir), runId);
}

export function loadGraphRunData(system: Pick<SystemConfig, 'dir'>, selection: GraphSelection = {}): LoadedRunData {
  const unreadable: string[] = [];
  const runs: RunChoice[] = [];
  for (const id of listRunIds(system)) {
    try {
      const folder = RunFolder.open(runDirOf(system, id));
      runs.push(runChoice({ manifest: folder.current, samples: readSamples(folder.dir) }));
    } catch (err) {
      unreadable.push(err instanceof Error ? err.message : String(err));
    }
  }
  const runId = runs.some((r) => r.id === selection.runId) ? selection.runId! : runs[0]?.id;
  let run: RunContents | undefined;
  if (runId !== undefined) {
    try {
      run = RunFolder.open(runDirOf(system, runId)).read();
    } catch (err) {
      unreadable.push(err instanceof Error ? err.message : String(err));
    }
  }
  const data: LoadedRunData = { runs, unreadable, ...(run ? { run, runDir: runDirOf(system, runId!) } : {}) };
  const { compare } = selection;
  if (compare && runs.some((r) => r.id === compare.a) && runs.some((r) => r.id === compare.b)) {
    data.compare = {
      a: { id: compare.a, samples: readSamples(runDirOf(system, compare.a)) },
      b: { id: compare.b, samples: readSamples(runDirOf(system, compare.b)) },
    };
  }
  return data;
}

function readSamples(runDir: string): SampleOutcome[] {
  return readJsonlSync<SampleOutcome>(join(runDir, RUN_FILES.samples));
}

/** The first call (of the shown sample, else of the run) of agent-DAG node `to` whose input has a block from `from`. */
export function findCallFor(runDir: string, from: string, to: string, sampleId: string | undefined): string | undefined {
  if (!to.startsWith('agent:')) return undefined;
  const calls = readJsonlSync<AgentCall>(join(runDir, RUN_FILES.calls));
  const agentOfCall = new Map(calls.map((c) => [c.id, c.agent]));
  const dagSource = (s: BlockSource): string | undefined => {
    switch (s.kind) {
      case 'task':
        return taskNodeId(s.field);
      case 'agent':
        return agentNodeId(s.agent);
      case 'tool': {
        const owner = agentOfCall.get(s.callId);
        return owner ? agentNodeId(owner) : undefined;
      }
      case 'environment':
        return ENVIRONMENT_NODE;
    }
  };
  const matches = calls.filter((c) => agentNodeId(c.agent) === to && c.blocks.some((b) => dagSource(b.source) === from));
  return (matches.find((c) => c.sampleId === sampleId) ?? matches[0])?.id;
}
