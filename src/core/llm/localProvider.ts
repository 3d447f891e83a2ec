/**
 * ChatProvider for a local Hugging Face model run by the attribution backend (a child process).
 * A thin adapter: the backend client (src/core/backend/client.ts) implements `LocalGenerator`; this file only maps
 * our request/response shapes onto it. Local models do not do function calling.
 */
import type { ChatMessage as BackendMessage, GenerateOptions, GenerateResult } from '../../protocol/attribution';
import type { LocalModel } from '../system/types';
import {
  effectiveParameters,
  ProviderError,
  type ChatParameters,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type CompleteOptions,
  type ProviderIdentity,
} from './types';

/** What this adapter needs from the backend client. */
export interface LocalGenerator {
  generate(
    modelDir: string,
    messages: BackendMessage[],
    options: GenerateOptions,
    signal?: AbortSignal,
  ): Promise<GenerateResult & { promptTokens?: number }>;
}

const DEFAULT_MAX_TOKENS = 256;

export class LocalProvider implements ChatProvider {
  readonly identity: ProviderIdentity;
  readonly defaultParameters: ChatParameters;
  readonly announcesRequests = true;

  constructor(
    private readonly generator: LocalGenerator,
    private readonly modelDir: string,
    parameters: ChatParameters = {},
    /** Name shown in errors and stored in cache entries (the model's key in agentchord.yaml). */
    name: string = modelDir,
  ) {
    this.identity = { baseUrl: `local:${modelDir}`, model: name };
    this.defaultParameters = { ...parameters };
  }

  static fromConfig(generator: LocalGenerator, model: LocalModel): LocalProvider {
    return new LocalProvider(generator, model.path, model.parameters as ChatParameters, model.name);
  }

  async complete(request: ChatRequest, signal?: AbortSignal, callbacks: CompleteOptions = {}): Promise<ChatResponse> {
    if (request.tools?.length) {
      throw new ProviderError('bad_request', this.identity, 'local models cannot call tools; use an endpoint model for agents with tools');
    }
    if (signal?.aborted) throw new ProviderError('cancelled', this.identity, 'request cancelled');
    const p = effectiveParameters(this, request);
    const options: GenerateOptions = {
      maxTokens: typeof p.max_tokens === 'number' ? p.max_tokens : DEFAULT_MAX_TOKENS,
      temperature: typeof p.temperature === 'number' ? p.temperature : 0,
      topP: typeof p.top_p === 'number' ? p.top_p : 1,
      stop: typeof p.stop === 'string' ? [p.stop] : Array.isArray(p.stop) ? p.stop : [],
      ...(typeof p.seed === 'number' ? { seed: p.seed } : {}),
    };
    const messages: BackendMessage[] = request.messages.map((m) => ({ role: m.role, content: m.content ?? '' }));
    callbacks.beforeRequest?.();
    const started = performance.now();
    let result: GenerateResult & { promptTokens?: number };
    try {
      result = await this.generator.generate(this.modelDir, messages, options, signal);
    } catch (err) {
      if (signal?.aborted) throw new ProviderError('cancelled', this.identity, 'request cancelled');
      throw new ProviderError('server', this.identity, `local generation failed: ${(err as Error).message ?? String(err)}`);
    }
    if (result.finishReason === 'cancelled') throw new ProviderError('cancelled', this.identity, 'request cancelled');
    return {
      message: { content: result.text, toolCalls: [] },
      usage: { promptTokens: result.promptTokens ?? 0, completionTokens: result.ids.length },
      finishReason: result.finishReason === 'eos' ? 'stop' : result.finishReason,
      model: this.identity.model,
      cached: false,
      latencyMs: Math.round(performance.now() - started),
    };
  }
}
