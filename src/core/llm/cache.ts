/**
 * Content-addressed response cache: the same request to the same model is answered from disk, at no cost.
 *
 * Key: sha256 of a canonical JSON (sorted keys) of the provider identity (base URL and model, never the key), the
 * messages, the tools, the tool choice and the effective parameters. Entries live in
 * `<workspace>/.agentchord/cache/<first 2 hex chars>/<hash>.json`, written atomically. An entry that cannot be read
 * back (truncated, corrupted, from another version) is treated as a miss and replaced by the fresh answer.
 *
 * Sampled requests (temperature > 0 without a seed) are cached too by default: re-running an experiment then costs
 * nothing and reproduces the same answers, at the price of never drawing a second sample for the same request.
 * Set `cacheSampled: false` to always call the model for those.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import stableStringify from 'fast-json-stable-stringify';
import { writeJsonAtomic } from '../../shared/atomicWrite';
import {
  effectiveParameters,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type CompleteOptions,
  type ProviderIdentity,
} from './types';

const CACHE_FORMAT = 1;

/** `<workspace>/.agentchord/cache`. */
export function cacheDirFor(workspace: string): string {
  return join(workspace, '.agentchord', 'cache');
}

/** The cache key of a request as `provider` would send it (its default parameters count). */
export function cacheKey(provider: Pick<ChatProvider, 'identity' | 'defaultParameters'>, request: ChatRequest): string {
  const identity: ProviderIdentity = { baseUrl: provider.identity.baseUrl, model: provider.identity.model };
  const canonical = stableStringify({
    format: CACHE_FORMAT,
    provider: identity,
    messages: request.messages,
    tools: request.tools ?? [],
    toolChoice: request.toolChoice ?? null,
    parameters: effectiveParameters(provider, request),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** True for a request whose answer is a random draw: temperature above 0 and no seed. */
export function isSampled(provider: Pick<ChatProvider, 'defaultParameters'>, request: ChatRequest): boolean {
  const parameters = effectiveParameters(provider, request);
  const temperature = typeof parameters.temperature === 'number' ? parameters.temperature : 1; // the API's default
  return temperature > 0 && parameters.seed === undefined;
}

interface CacheEntry {
  format: number;
  key: string;
  identity: ProviderIdentity;
  createdAt: string;
  response: ChatResponse;
}

export class ResponseCache {
  /** @param dir the cache folder, usually `cacheDirFor(workspace)`. */
  constructor(readonly dir: string) {}

  pathFor(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The stored response, or undefined when absent or unreadable (never throws for a bad entry). */
  async get(key: string): Promise<ChatResponse | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathFor(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as Partial<CacheEntry>;
      return entry.format === CACHE_FORMAT && entry.key === key && isResponse(entry.response) ? entry.response : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, identity: ProviderIdentity, response: ChatResponse): Promise<void> {
    const entry: CacheEntry = {
      format: CACHE_FORMAT,
      key,
      identity: { baseUrl: identity.baseUrl, model: identity.model },
      createdAt: new Date().toISOString(),
      response: { ...response, cached: false },
    };
    await writeJsonAtomic(this.pathFor(key), entry, { createDirs: true });
  }
}

export interface CachingProviderOptions {
  /** Cache sampled requests (temperature > 0, no seed) too. Default true: re-runs cost nothing. */
  cacheSampled?: boolean;
}

/** Answers from the cache when it can, otherwise asks `inner` and stores the answer. */
export class CachingProvider implements ChatProvider {
  readonly identity: ProviderIdentity;
  readonly defaultParameters;
  /** A miss is announced here (whatever `inner` does), a hit never: a hit is no model request. */
  readonly announcesRequests = true;

  constructor(
    private readonly inner: ChatProvider,
    private readonly cache: ResponseCache,
    private readonly options: CachingProviderOptions = {},
  ) {
    this.identity = inner.identity;
    this.defaultParameters = inner.defaultParameters;
  }

  async complete(request: ChatRequest, signal?: AbortSignal, callbacks?: CompleteOptions): Promise<ChatResponse> {
    const { beforeRequest, ...passed } = callbacks ?? {};
    if (this.options.cacheSampled === false && isSampled(this.inner, request)) {
      beforeRequest?.();
      return this.inner.complete(request, signal, passed);
    }
    const started = performance.now();
    const key = cacheKey(this.inner, request);
    const hit = await this.cache.get(key);
    if (hit) {
      // A listener showing the answer as it streams still gets it, in one piece.
      if (hit.message.content) callbacks?.onDelta?.({ attempt: 1, content: hit.message.content });
      return { ...hit, cached: true, latencyMs: Math.round(performance.now() - started) };
    }
    beforeRequest?.();
    const response = await this.inner.complete(request, signal, passed);
    await this.cache.put(key, this.identity, response);
    return response;
  }
}

function isResponse(value: unknown): value is ChatResponse {
  const r = value as ChatResponse | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.message?.content === 'string' &&
    Array.isArray(r.message.toolCalls) &&
    r.message.toolCalls.every((c) => typeof c?.id === 'string' && typeof c.name === 'string' && typeof c.arguments === 'string') &&
    typeof r.usage?.promptTokens === 'number' &&
    typeof r.usage.completionTokens === 'number' &&
    typeof r.finishReason === 'string' &&
    typeof r.model === 'string'
  );
}
