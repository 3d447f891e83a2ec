/**
 * The JSON-RPC 2.0 protocol between the attribution backend process (src/backend/server) and its client
 * (src/core/backend/client.ts). Both sides import these typed message objects, so a method name or a parameter
 * shape cannot drift between them.
 *
 * Every request may be cancelled with `$/cancelRequest` (vscode-jsonrpc's CancellationToken); handlers turn it into
 * an AbortSignal. Errors are JSON-RPC errors with a code from BackendErrorCodes; `data.field` names the parameter at
 * fault when there is one.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type {
  AttributionRequest,
  AttributionResult,
  ChatMessage,
  Device,
  DeviceChoice,
  GenerateOptions,
  GenerateResult,
} from './attribution';

/** Bumped on any incompatible change to the messages below. Client and backend must agree exactly. */
export const PROTOCOL_VERSION = 1;

/** Defaults the backend applies to a generate request's missing options. */
export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = { maxTokens: 256, temperature: 0, topP: 1, stop: [] };

export const BackendErrorCodes = {
  /** JSON-RPC standard: a parameter is missing or wrong (data.field names it). */
  InvalidParams: -32602,
  /** A request other than initialize came first. */
  NotInitialized: -32002,
  /** The model folder or its content is bad (unsupported model_type, missing tensor, shape mismatch...). */
  ModelError: -32010,
  /** Client and backend speak different protocol versions. */
  ProtocolMismatch: -32011,
  /** TCP only: initialize carried no token or a wrong one. The connection is closed after this error. */
  Unauthorized: -32012,
  /** The request was cancelled ($/cancelRequest); same code as LSP's RequestCancelled. */
  RequestCancelled: -32800,
  /** The backend is draining for shutdown (SIGTERM) and takes no new requests: send it elsewhere. */
  ShuttingDown: -32013,
} as const;

/** Attached to error responses as `data`. */
export interface BackendErrorData {
  /** JSON path of the parameter at fault, e.g. `request.spans[0].start`. */
  field?: string;
}

export interface DeviceInfo {
  device: Device;
  /** ORT execution providers in use, in preference order. */
  providers: string[];
  /** Why a faster device was not used, when the backend was started with --device auto. */
  reason?: string;
}

// ---- initialize ----

export interface InitializeParams {
  protocolVersion: number;
  clientName?: string;
  /** Required on TCP connections: the backend's bearer token. */
  token?: string;
}

export interface InitializeResult {
  protocolVersion: number;
  /** The AgentChord version the backend was built from. */
  backendVersion: string;
  device: DeviceInfo;
  pid: number;
  /**
   * True for `agentchord serve`: loadModel's `dir` is a model name the server resolves (`org/name[@revision]` in its
   * model cache, or a folder name under its --models-dir), and a client path is refused. Absent: a path, as on stdio.
   */
  modelsByName?: boolean;
}

export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('initialize');

// ---- models ----

export interface LoadModelParams {
  /** Hugging Face model folder (config.json, *.safetensors, tokenizer.json). */
  dir: string;
  /** Default: the device the backend was started with. */
  device?: DeviceChoice;
}

export interface ModelTokenizerInfo {
  vocabSize: number;
  bosId?: number;
  eosIds: number[];
  hasChatTemplate: boolean;
}

/** A loaded model as the runtime describes it (src/backend/runtime/types.ts uses this type too). */
export interface LoadedModelInfo {
  /** Absolute model folder. */
  dir: string;
  modelType: string;
  device: Device;
  dtype: 'float32' | 'float16';
  vocabSize: number;
  numLayers: number;
  hiddenSize: number;
  maxPositions: number;
}

/** What the backend reports of a loaded model: the runtime's description plus its tokenizer's. */
export interface ModelInfo extends LoadedModelInfo {
  tokenizer: ModelTokenizerInfo;
}

export interface LoadModelResult {
  /** Stable for the same folder and device, also across backend restarts. */
  modelId: string;
  info: ModelInfo;
}

export const LoadModelRequest = new RequestType<LoadModelParams, LoadModelResult, void>('loadModel');

export interface UnloadModelParams {
  modelId: string;
}
export const UnloadModelRequest = new RequestType<UnloadModelParams, { unloaded: boolean }, void>('unloadModel');

// ---- tokenizer ----

/** Exactly one of text and segments. */
export interface TokenizeParams {
  modelId: string;
  text?: string;
  /** Consecutive segments; the result's ranges[k] is segment k's [start, end) in ids. */
  segments?: string[];
  /** Default true: add BOS etc. as the tokenizer's post-processor says. */
  addSpecialTokens?: boolean;
}

export interface TokenizeResult {
  ids: number[];
  /** Only for segments. */
  ranges?: Array<[number, number]>;
  /** The vocabulary's spelling of each id. */
  pieces: string[];
  /** The text each id decodes to in context (tokenizer's decoder; a split multi-byte character on its last token). */
  texts: string[];
}

export const TokenizeRequest = new RequestType<TokenizeParams, TokenizeResult, void>('tokenize');

export interface RenderChatParams {
  modelId: string;
  messages: ChatMessage[];
  addGenerationPrompt?: boolean;
}
export const RenderChatRequest = new RequestType<RenderChatParams, { text: string }, void>('renderChat');

// ---- generation ----

/** Exactly one of prompt, promptIds and messages (rendered with the chat template, generation prompt added). */
export interface GenerateParams {
  modelId: string;
  prompt?: string;
  promptIds?: number[];
  messages?: ChatMessage[];
  options?: Partial<GenerateOptions>;
  /** When set, the backend streams each new token as a `generate/token` notification carrying this handle. */
  streamHandle?: string;
}

export const GenerateRequest = new RequestType<GenerateParams, GenerateResult, void>('generate');

export interface GenerateTokenParams {
  /** The request's streamHandle. */
  handle: string;
  id: number;
  text: string;
}
export const GenerateTokenNotification = new NotificationType<GenerateTokenParams>('generate/token');

// ---- attribution ----

export interface AttributeParams {
  modelId: string;
  request: AttributionRequest;
}
export const AttributeRequest = new RequestType<AttributeParams, AttributionResult, void>('attribute');

export interface AttributeBatchParams {
  modelId: string;
  requests: AttributionRequest[];
}
export const AttributeBatchRequest = new RequestType<AttributeBatchParams, AttributionResult[], void>('attributeBatch');

// ---- process ----

export interface LoadedModelSummary {
  modelId: string;
  dir: string;
  device: Device;
}

export interface StatusResult {
  device: DeviceInfo;
  providers: string[];
  memory: { rss: number; heapUsed: number; heapTotal: number };
  loadedModels: LoadedModelSummary[];
  uptimeSeconds: number;
  pid: number;
}
export const StatusRequest = new RequestType0<StatusResult, void>('status');

/** `backend/status`: what a service's health check reads (`agentchord serve`; the stdio backend answers it too). */
export interface BackendStatusResult {
  /** The AgentChord version the backend was built from. */
  version: string;
  protocolVersion: number;
  device: DeviceInfo;
  loadedModels: LoadedModelSummary[];
  /** Requests being handled now, over all connections (initialize and status calls not counted). */
  inFlight: number;
  uptimeSeconds: number;
  /** True once SIGTERM was received: new requests are refused with ShuttingDown. */
  draining: boolean;
  pid: number;
}
export const BackendStatusRequest = new RequestType0<BackendStatusResult, void>('backend/status');

/** The backend answers, then releases its models and exits. */
export const ShutdownRequest = new RequestType0<null, void>('shutdown');
