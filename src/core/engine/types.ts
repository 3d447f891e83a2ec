/**
 * The run data model: what a GBC run records, and the files of a run folder. Written by the forward run and the
 * attribution pass, read by the backward pass, the optimizer, the report, the CLI and the extension.
 *
 * A run folder `.agentchord/runs/<runId>/` holds (every file written atomically; JSONL appended line by line):
 *   run.json              RunManifest (status updated as the run goes)
 *   calls.jsonl           one AgentCall per agent call (one per tool-loop step for tool-calling agents)
 *   attribution.jsonl     one CallAttribution per AgentCall
 *   samples.jsonl         one SampleOutcome per task sample (output, metrics, score, verbal loss)
 *   graphs.jsonl          one AttributionGraph per sample
 *   trajectories.jsonl    one Trajectory per line (input -> ... -> loss)
 *   proposals/step-<n>.json   Proposal (the optimizer's suggested prompts: never written to prompt files directly)
 *   checkpoint.json       Checkpoint (resume after a crash or a budget stop)
 *   writer.lock           while a process writes the run: its pid, host and start time (one writer at a time)
 *   report.html           the self-contained HTML report
 */
import type { AttributionStrategy } from '../system/types';
import type { SpanConnection } from '../../protocol/attribution';

export const RUN_FILES = {
  manifest: 'run.json',
  calls: 'calls.jsonl',
  attribution: 'attribution.jsonl',
  samples: 'samples.jsonl',
  graphs: 'graphs.jsonl',
  trajectories: 'trajectories.jsonl',
  proposalsDir: 'proposals',
  checkpoint: 'checkpoint.json',
  report: 'report.html',
  lock: 'writer.lock',
} as const;

/** The JSONL files of a run folder, which a resume cuts back to the checkpoint (Checkpoint.files). */
export const RUN_RECORD_FILES = [RUN_FILES.calls, RUN_FILES.attribution, RUN_FILES.samples, RUN_FILES.graphs, RUN_FILES.trajectories] as const;

/** Where one block of an agent's input comes from. */
export type BlockSource =
  | { kind: 'task'; field: string }
  | { kind: 'agent'; agent: string; callId: string }
  | { kind: 'tool'; tool: string; toolCallId: string; callId: string }
  | { kind: 'environment'; turn: number };

/** One labelled block of an agent's input, located in the rendered text and (when attributed) in tokens. */
export interface InputBlock {
  /** Stable within the call, e.g. `task.question`, `agent:manager`, `tool:call_1`. */
  id: string;
  /** The heading the model sees for this block. */
  label: string;
  source: BlockSource;
  /** [charStart, charEnd) of the block's content in AgentCall.renderedInput. */
  charStart: number;
  charEnd: number;
  /** [tokenStart, tokenEnd) in the attribution model's token ids, when attributed. */
  tokenStart?: number;
  tokenEnd?: number;
}

export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: string;
  result: string;
  error?: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface AgentCall {
  /** `${sampleId}/t${turn}/${agent}/s${step}` */
  id: string;
  runId: string;
  sampleId: string;
  turn: number;
  agent: string;
  /** Tool-loop step (0 for agents without tools). */
  step: number;
  /** Model reference (key of SystemConfig.models). */
  model: string;
  promptFile: string;
  /** Chat messages exactly as sent. */
  messages: Array<{ role: string; content: string; toolCalls?: Array<{ id: string; name: string; arguments: string }>; toolCallId?: string }>;
  /** The agent's input as one text (the user message that holds the blocks); block char ranges index into it. */
  renderedInput: string;
  blocks: InputBlock[];
  output: string;
  toolCalls: ToolCallRecord[];
  usage: Usage;
  cached: boolean;
  startedAt: string;
  durationMs: number;
  /** Imported calls (agentchord import): the recorded span this call was read from. */
  source?: { traceId: string; spanId: string; spanName: string; convention: string };
}

export interface CallAttribution {
  callId: string;
  /** ok: gradients computed; single-block: weight 1 without a gradient (as in the paper); unavailable: no weights. */
  status: 'ok' | 'single-block' | 'unavailable';
  /** Why weights are unavailable (no attribution model configured, backend down, ...). */
  reason?: string;
  /** True when the agent ran on another model than the attribution model (teacher-forced surrogate). */
  surrogate: boolean;
  attributionModel?: string;
  strategy: AttributionStrategy;
  /** Block id -> weight under `strategy`. Empty when unavailable. */
  weights: Record<string, number>;
  /** All four aggregates per block, when computed. */
  connections?: Record<string, SpanConnection>;
  logProb?: number;
  /**
   * Per-token saliency of the attributed tail, for heat maps: `texts[i]` is what token i decodes to (" Max", "é"; ''
   * for the leading bytes of a split character), `pieces[i]` its vocabulary spelling ("ĠMax"). `texts` is absent in
   * runs recorded before it existed: readers then show the pieces.
   */
  tokens?: { pieces: string[]; texts?: string[]; offset: number; l1: number[]; gradInput: number[] };
  /** Tokens cut from the left of the prefix because the text was longer than the attribution model's context. */
  truncatedPrefixTokens?: number;
}

export type GraphNodeKind = 'input' | 'agent' | 'tool_call' | 'tool_result' | 'loss';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  label: string;
  agent?: string;
  callId?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** connection: weighted by attribution; structural: always followed (e.g. tool call -> its result). */
  kind: 'connection' | 'structural';
  weight?: number;
  /** Kept in the top-k attribution graph. */
  kept: boolean;
}

export interface AttributionGraph {
  sampleId: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /**
   * weighted: every call had connection weights (top-k applied); unweighted: none had (all edges kept);
   * partial: some had. Absent in graphs written before this field existed (read as 'weighted').
   */
  weighting?: 'weighted' | 'unweighted' | 'partial';
}

export interface Trajectory {
  sampleId: string;
  /** Node ids, ordered input -> ... -> loss. */
  path: string[];
  /** Agents on the path, in order. */
  agents: string[];
  loss: string;
}

export interface SampleOutcome {
  sampleId: string;
  split: 'train' | 'validation' | 'test';
  output: string;
  metrics: Record<string, number>;
  /** Higher is better, in [0, 1] where possible. */
  score: number;
  /** The verbal loss text ('' when the sample is fully correct). */
  loss: string;
}

export interface PromptChange {
  agent: string;
  file: string;
  before: string;
  after: string;
  /** e.g. frozen regions re-inserted, length budget hit. */
  warnings: string[];
}

export interface Proposal {
  runId: string;
  step: number;
  optimizer: 'llm' | 'warnings';
  reasoning: string;
  changes: PromptChange[];
  /** Trajectories that motivated it. */
  trajectories: Trajectory[];
  scoreBefore?: number;
  scoreAfter?: number;
  /** Result of the acceptance test (undefined when it was off). */
  accepted?: boolean;
}

export interface RunManifest {
  id: string;
  systemFile: string;
  createdAt: string;
  kind: 'run' | 'optimize';
  status: 'running' | 'completed' | 'cancelled' | 'failed' | 'budget_exhausted';
  dataset: { split: string; file: string; samples: number };
  attribution: { model?: string; strategy: AttributionStrategy; topK: number; surrogate: boolean };
  usage: Usage & { calls: number };
  /** The same per agent, and cache hits (calls answered by the response cache, at no cost). */
  usageByAgent?: Record<string, Usage & { calls: number; cachedCalls: number }>;
  /** The same per usage step label (ForwardOptions.usageStep: 'forward', or the optimization step). */
  usageByStep?: Record<string, Usage & { calls: number; cachedCalls: number }>;
  /** Models used without a known price (their cost counts as 0). */
  unpricedModels?: string[];
  error?: string;
  /** A run read from recorded traces (agentchord import) rather than run by the engine. */
  imported?: ImportProvenance;
  /** The last `agentchord blame` of this run: when, whose verdicts, whether gradients were computed. */
  blame?: { at: string; verdicts: string; attributed: boolean; modelPath?: string };
}

/** Where an imported run came from: each source file with its SHA-256, so a report can say which export it read. */
export interface ImportProvenance {
  importedAt: string;
  sources: Array<{ file: string; sha256: string; bytes: number; format: string }>;
  traces: number;
  spans: number;
  /** Not fatal, worth knowing (a missing parent span, a trace without LLM calls, ...). */
  warnings: string[];
  /** The mapping file used, if any. */
  mapping?: string;
}

export interface Checkpoint {
  runId: string;
  step: number;
  /** Sample ids already done in the current step. */
  done: string[];
  /** Current prompts (agent -> text) of the optimization. */
  prompts: Record<string, string>;
  history: Array<{ step: number; prompts: Record<string, string>; score: number }>;
  usage: Usage & { calls: number };
  /**
   * Byte size of each JSONL file (RUN_RECORD_FILES) when `step` began: a resume cuts the files back to these sizes,
   * so the records of the step that did not finish are not there twice once it is redone. Absent in checkpoints
   * written before this field existed (a resume then drops the records of sample ids `s<n>:` with n >= step).
   */
  files?: Record<string, number>;
}
