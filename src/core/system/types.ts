/**
 * The system file (`agentchord.yaml`) as the rest of AgentChord sees it once loaded and validated.
 * Plain data: no `vscode` import anywhere under src/core.
 */

/** One problem found in a user's file. Lines and columns are 1-based (what editors and `file:line:col` print). */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** End of the offending range, 1-based, when known (editors underline [start, end)). */
  endLine?: number;
  endColumn?: number;
  message: string;
  severity: 'error' | 'warning';
}

/** A position in the system file, kept so later stages (CodeLens, errors at run time) can point back at the source. */
export interface SourceRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export type AttributionStrategy = 'mean_l1_norm' | 'max_l1_norm' | 'mean_grad_input' | 'max_grad_input';
export const ATTRIBUTION_STRATEGIES: readonly AttributionStrategy[] = [
  'mean_l1_norm',
  'max_l1_norm',
  'mean_grad_input',
  'max_grad_input',
];

/** An OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, ...). */
export interface EndpointModel {
  kind: 'endpoint';
  name: string;
  baseUrl: string;
  model: string;
  /** Name of the environment variable (CLI) or SecretStorage entry (VS Code) holding the key. Never the key itself. */
  apiKeyEnv?: string;
  parameters: Record<string, unknown>;
  /** Time-out of one attempt, in seconds (absent: the provider's default, DEFAULTS.endpointTimeoutSeconds). */
  timeoutSeconds?: number;
  /** Retries after a failed attempt (absent: DEFAULTS.endpointMaxRetries). */
  maxRetries?: number;
  /** USD per million tokens, from the file; absent: the built-in list prices (src/core/llm/usage.ts), if any. */
  price?: { inputPerMTok: number; outputPerMTok: number };
  range: SourceRange;
}

/** A Hugging Face model folder run by the local attribution backend. */
export interface LocalModel {
  kind: 'local';
  name: string;
  /** Absolute path of the model folder. */
  path: string;
  device: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  parameters: Record<string, unknown>;
  range: SourceRange;
}

/**
 * A model that does not generate: each agent on it replies with a field of the task sample, `<field>.<agent name>`
 * (deterministic upstream agents for demos, tests and replaying recorded runs; see docs/system-file.md).
 */
export interface ReplayModel {
  kind: 'replay';
  name: string;
  /** Task field holding the replies, an object keyed by agent name. */
  field: string;
  parameters: Record<string, unknown>;
  range: SourceRange;
}

export type ModelConfig = EndpointModel | LocalModel | ReplayModel;

/** One input block of an agent: a predecessor agent's output or a field of the task sample. */
export type AgentInput =
  | { kind: 'agent'; agent: string; range: SourceRange }
  | { kind: 'task'; field: string; range: SourceRange };

/**
 * How an agent's input blocks are laid out for its model (docs/forward-run.md):
 *  - blocks (default): a user message of `<block source="...">` elements after the prompt as system message;
 *  - lines: a completion prompt: each block is one line written with `template` (`{{label}}` and `{{content}}`),
 *    lines joined by `separator`, put where the prompt file says `{{input}}`; the whole text is one user message,
 *    which a model without chat template reads exactly as written. For models trained on a fixed format.
 */
export type InputFormat = { format: 'blocks' } | { format: 'lines'; template: string; separator: string };

export interface AgentConfig {
  name: string;
  /** How other agents' `lines` inputs name this agent's block (`{{label}}`). Default: the agent name. */
  label: string;
  input: InputFormat;
  /** False: optimizers never change this agent's prompt (e.g. a prompt in the format a model was trained on). */
  optimize: boolean;
  /** Absolute path of the prompt file: the optimizable variable. */
  promptFile: string;
  /** Key into `SystemConfig.models`. */
  model: string;
  inputs: AgentInput[];
  /** Tool names this agent may call (exported by the tools module). */
  tools: string[];
  maxToolSteps: number;
  description?: string;
  range: SourceRange;
}

export interface AttributionConfig {
  /** Key into `SystemConfig.models`; must be a local model. Absent: weights are reported as unavailable. */
  model?: string;
  strategy: AttributionStrategy;
  topK: number;
  /** Remote backends (`agentchord serve`) sharing the attribution calls; absent: the model runs locally. */
  backends?: RemoteBackendConfig[];
}

/** One `attribution.backends` entry; `ca` is absolute. */
export interface RemoteBackendConfig {
  url: string;
  tokenEnv: string;
  ca?: string;
  concurrency?: number;
}

export interface DatasetsConfig {
  train?: string;
  validation?: string;
  test?: string;
}

export type LossConfig =
  | { kind: 'template'; file: string }
  | { kind: 'builtin'; name: string; options: Record<string, unknown> };

export interface OptimizerConfig {
  kind: 'llm' | 'warnings';
  /** Key into models; required for kind 'llm'. */
  model?: string;
  batchSize: number;
  steps: number;
  acceptanceTest: boolean;
  budget: { maxCalls?: number; maxTokens?: number; maxCostUsd?: number };
  /** Largest prompt the optimizer may write, in characters. */
  maxPromptChars: number;
}

export interface EnvironmentConfig {
  module: string;
  maxTurns: number;
  options: Record<string, unknown>;
}

export interface SystemConfig {
  /** Absolute path of the agentchord.yaml. */
  file: string;
  /** Folder holding it; relative paths in the file resolve against it. */
  dir: string;
  /**
   * `allowPathsOutside: true` in the file: prompt, dataset, tools, environment and loss-template paths may resolve
   * outside the system's folder (default false: such a path is a validation error).
   */
  allowPathsOutside?: boolean;
  name: string;
  description?: string;
  models: Record<string, ModelConfig>;
  /** In file order. */
  agents: AgentConfig[];
  /** Agent names in a topological order (predecessors first). */
  order: string[];
  output: string;
  /** Absolute path of the tools module, if any. */
  toolsModule?: string;
  attribution: AttributionConfig;
  datasets: DatasetsConfig;
  loss?: LossConfig;
  optimizer: OptimizerConfig;
  environment?: EnvironmentConfig;
  /** Time-outs of awaited user code, in seconds: tools.timeoutSeconds, environment.timeoutSeconds, loss.timeoutSeconds. */
  timeouts: { toolSeconds: number; environmentSeconds: number; lossSeconds: number };
}

/** What a path names on disk: a regular file, a folder, something else (a device, a socket, a FIFO), or nothing. */
export type FileKind = 'file' | 'directory' | 'other' | 'missing';

/**
 * What the loader reads through, so the editor can validate unsaved text and tests can use a fake file system.
 * The optional methods let the loader check more (file types, symbolic links, prompt contents); a host without them
 * (an in-memory test host) gets only the checks `exists` allows.
 */
export interface FileHost {
  exists(absolutePath: string): boolean;
  /** What the path is, following symbolic links. */
  kind?(absolutePath: string): FileKind;
  /** The path with every symbolic link resolved; the path itself when it does not exist. */
  realPath?(absolutePath: string): string;
  /** The text of a regular file (an open editor's unsaved text first); undefined when it cannot be read. */
  readText?(absolutePath: string): string | undefined;
}

export interface LoadResult {
  /** Present when there are no errors (warnings allowed). */
  system?: SystemConfig;
  problems: Problem[];
}
