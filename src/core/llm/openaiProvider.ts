/**
 * ChatProvider for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, ...), over the `openai` SDK.
 *
 * The SDK only does the HTTP; the policy is ours so that it is the same for every endpoint and testable:
 * - the SDK's own retries are off (maxRetries: 0); we retry 429, 5xx, time-outs and connection errors with
 *   exponential backoff + jitter, honouring Retry-After;
 * - each attempt has its own time-out, covering a streamed body too;
 * - the caller's AbortSignal cancels at any point, backoff sleeps included;
 * - the API key comes from a resolver (CLI: environment; VS Code: SecretStorage) and is redacted from every message.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { EndpointModel } from '../system/types';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, sleep, SleepAbortedError, type RetryPolicy } from './retry';
import {
  effectiveParameters,
  ProviderError,
  type ChatMessage,
  type ChatParameters,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type CompleteOptions,
  type ProviderErrorKind,
  type ProviderIdentity,
  type ToolCall,
} from './types';

/** Looks up a key by name: the CLI reads the environment, VS Code its SecretStorage. Undefined or '' = not set. */
export type ApiKeyResolver = (name: string) => string | undefined | Promise<string | undefined>;

export const envApiKeyResolver: ApiKeyResolver = (name) => process.env[name];

export interface OpenAIProviderOptions {
  baseUrl: string;
  model: string;
  /**
   * Name of the key (environment variable / secret). When set, the key is required and a missing one is an 'auth'
   * error naming it. When absent, no Authorization header is sent (local vLLM / Ollama).
   */
  apiKeyEnv?: string;
  resolveApiKey?: ApiKeyResolver;
  /** Defaults for every request (the model config's `parameters`). */
  parameters?: ChatParameters;
  /** Time-out of one attempt, response body included. Default 120 s (DEFAULTS.endpointTimeoutSeconds). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Stream responses (server-sent events) and report pieces through `onDelta`. Default false. */
  stream?: boolean;
  /** Jitter source; tests pass a fixed one. */
  random?: () => number;
}

export const DEFAULT_ENDPOINT_TIMEOUT_MS = 120_000;

/**
 * Builds the provider for a model entry of agentchord.yaml. The entry's `timeoutSeconds` and `maxRetries` win over
 * `options` (what the user wrote for this endpoint beats a program-wide default).
 */
export function createEndpointProvider(
  model: EndpointModel,
  options: Omit<OpenAIProviderOptions, 'baseUrl' | 'model' | 'apiKeyEnv' | 'parameters'> = {},
): OpenAIProvider {
  return new OpenAIProvider({
    ...options,
    ...(model.timeoutSeconds !== undefined && { timeoutMs: model.timeoutSeconds * 1000 }),
    ...(model.maxRetries !== undefined && { retry: { ...options.retry, maxRetries: model.maxRetries } }),
    baseUrl: model.baseUrl,
    model: model.model,
    apiKeyEnv: model.apiKeyEnv,
    parameters: model.parameters as ChatParameters,
  });
}

export class OpenAIProvider implements ChatProvider {
  readonly identity: ProviderIdentity;
  readonly defaultParameters: ChatParameters;
  readonly announcesRequests = true;
  private readonly options: OpenAIProviderOptions;
  private readonly policy: RetryPolicy;
  private client?: { key: string | undefined; sdk: OpenAI };

  constructor(options: OpenAIProviderOptions) {
    this.options = options;
    this.identity = { baseUrl: options.baseUrl.replace(/\/+$/, ''), model: options.model };
    this.defaultParameters = { ...options.parameters };
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  async complete(request: ChatRequest, signal?: AbortSignal, callbacks: CompleteOptions = {}): Promise<ChatResponse> {
    const key = await this.resolveKey();
    const sdk = this.sdkFor(key);
    const body = this.toWire(request);
    if (signal?.aborted) throw this.error('cancelled', 'request cancelled', key, { attempts: 1 });
    callbacks.beforeRequest?.();
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw this.error('cancelled', 'request cancelled', key, { attempts: attempt });
      let failure: ProviderError;
      let retryAfterMs: number | undefined;
      try {
        return await this.attempt(sdk, body, attempt, key, signal, callbacks);
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        ({ failure, retryAfterMs } = this.classify(err as AttemptFailure, key, attempt));
      }
      if (!failure.retryable || attempt > this.policy.maxRetries) throw failure;
      try {
        await sleep(retryDelayMs(attempt, this.policy, retryAfterMs, this.options.random), signal);
      } catch (err) {
        if (err instanceof SleepAbortedError) throw this.error('cancelled', 'request cancelled while waiting to retry', key, { attempts: attempt });
        throw err;
      }
    }
  }

  /** One HTTP attempt under its own time-out. Failures are rethrown as AttemptFailure for `classify`. */
  private async attempt(
    sdk: OpenAI,
    body: ChatCompletionCreateParams,
    attempt: number,
    key: string | undefined,
    signal: AbortSignal | undefined,
    callbacks: CompleteOptions,
  ): Promise<ChatResponse> {
    const controller = new AbortController();
    let timedOut = false;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_ENDPOINT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const started = performance.now();
    try {
      // The SDK's own time-out is a backstop only; ours (above) also covers a slow streamed body.
      const requestOptions = { signal: controller.signal, timeout: timeoutMs + 5_000, maxRetries: 0 };
      if (body.stream) {
        const stream = await sdk.chat.completions.create(body, requestOptions);
        // `await` here, not a bare return: the time-out and cancel wiring below must stay until the body is read.
        const response = await accumulateStream(stream, attempt, started, callbacks.onDelta, () => this.badResponse(key));
        // The SDK ends an aborted stream quietly, as if complete: the answer would be silently truncated.
        if (controller.signal.aborted) throw new AttemptFailure(new Error('stream aborted'), signal?.aborted === true, timedOut);
        return response;
      }
      const completion = await sdk.chat.completions.create(body, requestOptions);
      return this.fromWire(completion, started, key);
    } catch (err) {
      if (err instanceof ProviderError || err instanceof AttemptFailure) throw err;
      throw new AttemptFailure(err, signal?.aborted === true, timedOut);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private classify(failure: AttemptFailure, key: string | undefined, attempt: number): { failure: ProviderError; retryAfterMs?: number } {
    const { original: cause, cancelled, timedOut } = failure;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_ENDPOINT_TIMEOUT_MS;
    const make = (kind: ProviderErrorKind, detail: string, status?: number) => this.error(kind, detail, key, { status, attempts: attempt });
    if (cancelled) return { failure: make('cancelled', 'request cancelled') };
    if (timedOut || cause instanceof APIConnectionTimeoutError) return { failure: make('timeout', `no complete response within ${timeoutMs} ms`) };
    if (cause instanceof APIUserAbortError) return { failure: make('cancelled', 'request cancelled') };
    if (cause instanceof APIConnectionError) return { failure: make('network', `connection failed (${describeCause(cause)})`) };
    if (cause instanceof APIError && typeof cause.status === 'number') {
      const status = cause.status;
      const said = serverMessage(cause);
      const retryAfterMs = parseRetryAfter(cause.headers);
      if (status === 401 || status === 403) {
        const hint = this.options.apiKeyEnv ? `; check the key in ${this.options.apiKeyEnv}` : '';
        return { failure: make('auth', `authentication failed (HTTP ${status}: ${said})${hint}`, status) };
      }
      if (status === 429) {
        // An exhausted quota is a 429 too, but waiting will not fix it.
        const quota = (cause.error as { code?: unknown } | undefined)?.code === 'insufficient_quota';
        return { failure: make(quota ? 'bad_request' : 'rate_limit', `rate limited (HTTP 429: ${said})`, status), retryAfterMs };
      }
      if (status === 408) return { failure: make('timeout', `the server timed out (HTTP 408: ${said})`, status), retryAfterMs };
      if (status >= 500) return { failure: make('server', `server error (HTTP ${status}: ${said})`, status), retryAfterMs };
      return { failure: make('bad_request', `request rejected (HTTP ${status}: ${said})`, status) };
    }
    // Anything else (a dropped stream, an unreadable body) is most likely the connection.
    return { failure: make('network', `request failed (${describeCause(cause)})`) };
  }

  private async resolveKey(): Promise<string | undefined> {
    const name = this.options.apiKeyEnv;
    if (!name) return undefined;
    const key = await (this.options.resolveApiKey ?? envApiKeyResolver)(name);
    if (!key) throw this.error('auth', `no API key: set ${name} (the api_key_env of this model)`, undefined);
    return key;
  }

  private sdkFor(key: string | undefined): OpenAI {
    if (this.client && this.client.key === key) return this.client.sdk;
    const sdk = new OpenAI({
      baseURL: this.identity.baseUrl,
      // A keyless endpoint still needs a placeholder for the SDK; the header is then removed below.
      apiKey: key ?? 'no-key',
      // Never pick up OPENAI_* variables behind the user's back: the system file says which key to use.
      adminAPIKey: null,
      organization: null,
      project: null,
      maxRetries: 0,
      defaultHeaders: key ? {} : { Authorization: null },
    });
    this.client = { key, sdk };
    return sdk;
  }

  private toWire(request: ChatRequest): ChatCompletionCreateParams {
    const parameters = effectiveParameters(this, request);
    const body: Record<string, unknown> = {
      ...parameters,
      model: this.identity.model,
      messages: request.messages.map(messageToWire),
    };
    if (request.tools?.length) body.tools = request.tools;
    if (request.toolChoice) body.tool_choice = request.toolChoice;
    if (this.options.stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    } else {
      delete body.stream;
    }
    return body as unknown as ChatCompletionCreateParams;
  }

  private fromWire(completion: ChatCompletion, started: number, key: string | undefined): ChatResponse {
    const choice = completion.choices?.[0];
    if (!choice?.message) throw this.badResponse(key);
    const toolCalls: ToolCall[] = [];
    for (const call of choice.message.tool_calls ?? []) {
      if (call.type === 'function') toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments ?? '' });
    }
    return {
      message: { content: choice.message.content ?? '', toolCalls },
      usage: { promptTokens: completion.usage?.prompt_tokens ?? 0, completionTokens: completion.usage?.completion_tokens ?? 0 },
      finishReason: choice.finish_reason ?? 'stop',
      model: completion.model ?? this.identity.model,
      cached: false,
      latencyMs: Math.round(performance.now() - started),
    };
  }

  private badResponse(key: string | undefined): ProviderError {
    return this.error('server', 'the response has no choices[0].message', key);
  }

  private error(kind: ProviderErrorKind, detail: string, key: string | undefined, extra: { status?: number; attempts?: number } = {}): ProviderError {
    return new ProviderError(kind, this.identity, redact(detail, key), extra);
  }
}

/** Why one attempt failed, with what we knew at the time (the cause alone cannot tell a time-out from a cancel). */
class AttemptFailure extends Error {
  constructor(
    readonly original: unknown,
    readonly cancelled: boolean,
    readonly timedOut: boolean,
  ) {
    super('attempt failed');
  }
}

function messageToWire(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? { tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId };
    default:
      return { role: message.role, content: message.content };
  }
}

/** Builds the response from streamed chunks, tool calls assembled from their per-index argument pieces. */
async function accumulateStream(
  stream: AsyncIterable<ChatCompletionChunk>,
  attempt: number,
  started: number,
  onDelta: CompleteOptions['onDelta'],
  badResponse: () => ProviderError,
): Promise<ChatResponse> {
  let content = '';
  let finishReason: string | undefined;
  let model = '';
  let usage = { promptTokens: 0, completionTokens: 0 };
  let sawChoice = false;
  const calls = new Map<number, ToolCall>();
  for await (const chunk of stream) {
    if (chunk.model) model = chunk.model;
    if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    sawChoice = true;
    if (choice.finish_reason) finishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (delta.content) {
      content += delta.content;
      onDelta?.({ attempt, content: delta.content });
    }
    for (const piece of delta.tool_calls ?? []) {
      const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
      if (piece.id) call.id = piece.id;
      if (piece.function?.name) call.name += piece.function.name;
      if (piece.function?.arguments) call.arguments += piece.function.arguments;
      calls.set(piece.index, call);
      onDelta?.({
        attempt,
        toolCall: { index: piece.index, id: piece.id, name: piece.function?.name, argumentsDelta: piece.function?.arguments },
      });
    }
  }
  if (!sawChoice) throw badResponse();
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return {
    message: { content, toolCalls },
    usage,
    finishReason: finishReason ?? 'stop',
    model,
    cached: false,
    latencyMs: Math.round(performance.now() - started),
  };
}

function serverMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === 'string' && body.message ? body.message : 'no message';
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return `${cause.message}${inner}`;
  }
  return String(cause);
}

/** Removes the key, and anything that looks like a bearer token or an OpenAI-style key, from text shown to users. */
export function redact(text: string, key: string | undefined): string {
  let out = text;
  if (key) out = out.split(key).join('[redacted]');
  return out.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]').replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-[redacted]');
}
