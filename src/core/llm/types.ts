/**
 * The model-calling layer's vocabulary: what an agent sends to a model and what comes back.
 * Providers (./openaiProvider.ts, ./localProvider.ts) and wrappers (./cache.ts) all speak these shapes;
 * the wire format of a particular API stays inside its provider.
 */

/** A tool call the model asked for. `arguments` is the raw JSON text the model wrote (it may be invalid). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  /** `content` is null when the model only called tools. */
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  /** The result of one tool call, answering the assistant message's call with the same id. */
  | { role: 'tool'; content: string; toolCallId: string };

/** An OpenAI function-calling schema, as the API and tools modules write it. */
export interface ToolSchema {
  type: 'function';
  function: {
    name: string;
    description?: string;
    /** JSON Schema of the arguments object. */
    parameters?: Record<string, unknown>;
  };
}

/**
 * Sampling parameters, in the OpenAI API's own spelling (they come straight from `parameters:` in agentchord.yaml).
 * Unknown keys are passed through to the endpoint.
 */
export interface ChatParameters {
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  stop?: string | string[];
  seed?: number;
  [key: string]: unknown;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolSchema[];
  /** Default: the endpoint's ('auto' when tools are given). */
  toolChoice?: 'auto' | 'none' | 'required';
  /** Merged over the provider's default parameters (from the model config). */
  parameters?: ChatParameters;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ChatResponse {
  message: { content: string; toolCalls: ToolCall[] };
  usage: TokenUsage;
  /** 'stop' | 'length' | 'tool_calls' | 'content_filter' | whatever the endpoint said. */
  finishReason: string;
  /** The model that answered, as the endpoint named it. */
  model: string;
  /** True when the answer came from the response cache and cost no model call. */
  cached: boolean;
  latencyMs: number;
}

/** A piece of a streamed answer. A retried attempt streams again from the start with a higher `attempt`. */
export interface ChatDelta {
  attempt: number;
  content?: string;
  toolCall?: { index: number; id?: string; name?: string; argumentsDelta?: string };
}

export interface CompleteOptions {
  /** Called for every streamed piece (only providers configured to stream call it). */
  onDelta?: (delta: ChatDelta) => void;
  /**
   * Called once, synchronously, just before a provider sends a real request (not for an answer from the cache, not
   * per retry). Throwing refuses the call: the budget reserves its slot here, so concurrent calls cannot all pass.
   */
  beforeRequest?: () => void;
}

/** What a provider is, for cache keys and error messages. Never holds a key. */
export interface ProviderIdentity {
  /** Endpoint base URL, or `local:` + model folder for the local backend. */
  baseUrl: string;
  model: string;
}

export interface ChatProvider {
  readonly identity: ProviderIdentity;
  /** Parameters from the model config; a request's own parameters override them key by key. */
  readonly defaultParameters: ChatParameters;
  /** True when complete() calls `options.beforeRequest` as CompleteOptions says (so a cache hit can be told apart). */
  readonly announcesRequests?: boolean;
  complete(request: ChatRequest, signal?: AbortSignal, options?: CompleteOptions): Promise<ChatResponse>;
}

export type ProviderErrorKind = 'auth' | 'rate_limit' | 'server' | 'timeout' | 'network' | 'bad_request' | 'cancelled';

/** Kinds worth another attempt: the same request may well succeed a moment later. */
export const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['rate_limit', 'server', 'timeout', 'network']);

/** "http://host/v1 (model gpt-4o)": how errors name an endpoint. */
export function describeEndpoint(identity: ProviderIdentity): string {
  return `${identity.baseUrl} (model ${identity.model})`;
}

/**
 * A failed model call. The message always names the endpoint (base URL and model) and never contains the API key:
 * providers build it from their own words and redact anything the server echoed.
 */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly endpoint: string;
  /** HTTP status, when the endpoint answered. */
  readonly status?: number;
  /** Attempts made before giving up (1 = no retry). */
  readonly attempts: number;

  constructor(
    kind: ProviderErrorKind,
    identity: ProviderIdentity,
    detail: string,
    extra: { status?: number; attempts?: number; cause?: unknown } = {},
  ) {
    const attempts = extra.attempts ?? 1;
    const tail = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
    super(`${describeEndpoint(identity)}: ${detail}${tail}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.endpoint = describeEndpoint(identity);
    this.status = extra.status;
    this.attempts = attempts;
  }

  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

/** Request parameters over the provider's defaults; keys set to undefined are dropped. */
export function effectiveParameters(provider: Pick<ChatProvider, 'defaultParameters'>, request: ChatRequest): ChatParameters {
  const merged: ChatParameters = { ...provider.defaultParameters, ...request.parameters };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged;
}
