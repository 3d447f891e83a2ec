/**
 * The library API of AgentChord (`require('agentchord/api')`): the engine without the CLI, for Node scripts and CI
 * jobs. Semver-stable from 0.1: what this file exports keeps its names and meaning until the next major version;
 * anything reached another way is internal. Models run in the calling process (ONNX Runtime), as in the CLI.
 *
 *   const { importTrace, blame, readRun } = require('agentchord/api');
 *   const imported = await importTrace({ files: ['traces.jsonl'], out: 'runs/imported' });
 *   const result = await blame(imported.runDir, { verdicts: { kind: 'loss-file', file: 'verdicts.jsonl' } });
 *   console.log(result.blame); // [{ agent, trajectories, share }, ...]
 *
 * Every function takes an optional AbortSignal; errors are Error objects whose messages name the file, line, span
 * or field at fault (TraceError for bad trace input).
 */
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inProcessModels } from '../backend/inProcess';
import { defaultCacheDir } from '../backend/runtime/graphCache';
import { makeAttributor } from '../core/engine/attribution';
import { optimize as runOptimization, type OptimizeResult } from '../core/engine/loop';
import { makeModelResolver } from '../core/engine/models';
import { RunFolder, type RunFolderContents } from '../core/engine/runFolder';
import { envApiKeyResolver } from '../core/llm/openaiProvider';
import { summarizeRun as summarize, type RunSummary } from '../core/report/summary';
import { loadSystemFile, SYSTEM_FILE_NAME, formatProblem } from '../core/system';
import type { AttributionStrategy } from '../core/system/types';
import { blameRun, type BlameResult, type VerdictSource } from '../core/trace/blame';
import { importTrace as importTraceFiles, type ImportTraceOptions, type ImportTraceResult } from '../core/trace/importTrace';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export { TraceError } from '../core/trace/types';
export type { ImportTraceOptions, ImportTraceResult, VerdictSource, BlameResult, RunSummary, RunFolderContents, AttributionStrategy };
export type {
  AgentCall,
  AttributionGraph,
  BlockSource,
  CallAttribution,
  GraphEdge,
  GraphNode,
  ImportProvenance,
  InputBlock,
  PromptChange,
  Proposal,
  RunManifest,
  SampleOutcome,
  ToolCallRecord,
  Trajectory,
} from '../core/engine/types';
export type { AgentBlame } from '../core/engine/backward';

/** Reads a trace export (OTLP/JSON, OpenInference) into a run folder; see `agentchord import --help`. */
export function importTrace(options: ImportTraceOptions): Promise<ImportTraceResult> {
  return importTraceFiles(options);
}

export interface ModelOptions {
  /** A Hugging Face model folder: the attribution model (a white-box surrogate for the agents' models). */
  model: string;
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  strategy?: AttributionStrategy;
  /** Predecessors kept per call in the attribution graph (default 1). */
  topK?: number;
  /** Compiled-graph cache (default $AGENTCHORD_CACHE or ~/.cache/agentchord). */
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, callId: string) => void;
}

/** Connection weights of every call of a run (no verdicts: the graphs are built, nothing is blamed). */
export function attributeRun(runDir: string, options: ModelOptions): Promise<BlameResult> {
  return blame(runDir, { ...options, verdicts: { kind: 'none' } });
}

/** Weights, a verdict per trace, the backward pass: the run folder gets samples, graphs and trajectories. */
export async function blame(runDir: string, options: ModelOptions & { verdicts: VerdictSource }): Promise<BlameResult> {
  ort.env.logLevel = 'fatal';
  const models = inProcessModels({ cacheDir: options.cacheDir ? resolve(options.cacheDir) : defaultCacheDir() });
  try {
    return await blameRun(resolve(runDir), {
      modelPath: resolve(options.model),
      device: options.device ?? 'auto',
      models,
      strategy: options.strategy,
      topK: options.topK,
      verdicts: options.verdicts,
      signal: options.signal,
      onProgress: options.onProgress,
    });
  } finally {
    await models.dispose();
  }
}

export interface OptimizeOptions {
  split?: 'train' | 'validation' | 'test';
  steps?: number;
  batchSize?: number;
  acceptanceTest?: boolean;
  budget?: { maxCalls?: number; maxTokens?: number; maxCostUsd?: number };
  /** Keys by variable name (default: process.env), for the endpoints of the system file. */
  apiKey?: (name: string) => string | undefined;
  signal?: AbortSignal;
}

export interface OptimizeOutcome {
  runDir: string;
  status: OptimizeResult['status'];
  /** proposals/step-<n>.json files: review them (agentchord apply), they are never applied here. */
  proposals: string[];
  history: Array<{ step: number; score: number }>;
  log: string[];
}

/** The GBC loop on a system (a folder holding agentchord.yaml, or the file): proposals only, prompt files untouched. */
export async function optimize(system: string, options: OptimizeOptions = {}): Promise<OptimizeOutcome> {
  const path = resolve(system);
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, SYSTEM_FILE_NAME) : path;
  const loaded = loadSystemFile(file);
  if (!loaded.system) throw new Error(`${file}: the system file has errors:\n${loaded.problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`);
  ort.env.logLevel = 'fatal';
  const models = inProcessModels({ cacheDir: defaultCacheDir() });
  try {
    const attributor = makeAttributor(loaded.system, models);
    const result = await runOptimization({
      system: loaded.system,
      split: options.split ?? 'train',
      steps: options.steps,
      batchSize: options.batchSize,
      acceptanceTest: options.acceptanceTest,
      budget: options.budget ?? {},
      models: makeModelResolver(loaded.system, { apiKey: options.apiKey ?? envApiKeyResolver, localModels: models }),
      attributor,
      noAttributionReason: attributor ? undefined : `${file}: no attribution.model is set`,
      signal: options.signal,
    });
    return { runDir: result.folder.dir, status: result.status, proposals: result.proposals, history: result.history.map((h) => ({ step: h.step, score: h.score })), log: result.log };
  } finally {
    await models.dispose();
  }
}

/** Everything a run folder holds (manifest, calls, weights, samples, graphs, trajectories, proposals). */
export function readRun(runDir: string): RunFolderContents {
  return RunFolder.open(resolve(runDir)).read();
}

/** What `agentchord report --json` prints: blame per agent, weights per call, trajectories, scores. */
export function summarizeRun(runDir: string): RunSummary {
  return summarize(readRun(runDir));
}
