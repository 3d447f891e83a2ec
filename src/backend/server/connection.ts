/**
 * The request handlers of one client connection (stdio has one; TCP one per socket, all sharing one registry).
 * Each handler gets an AbortSignal that fires on `$/cancelRequest`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { ResponseError, type CancellationToken, type MessageConnection, type RequestHandler, type RequestHandler0, type RequestType, type RequestType0 } from 'vscode-jsonrpc';
import { version as backendVersion } from '../../../package.json';
import type { AttributionRequest, AttributionResult, DeviceChoice, GenerateOptions } from '../../protocol/attribution';
import {
  AttributeBatchRequest,
  AttributeRequest,
  BackendErrorCodes,
  BackendStatusRequest,
  DEFAULT_GENERATE_OPTIONS,
  GenerateRequest,
  GenerateTokenNotification,
  InitializeRequest,
  LoadModelRequest,
  PROTOCOL_VERSION,
  RenderChatRequest,
  ShutdownRequest,
  StatusRequest,
  TokenizeRequest,
  UnloadModelRequest,
  type DeviceInfo,
  type ModelInfo,
} from '../../protocol/backend';
import { formatProblems, validateAttributionRequest } from '../../shared/validateRequest';
import type { LoadedModel } from '../runtime/types';
import { parseDeviceChoice } from '../runtime/device';
import { InvalidParamsError, requireObject, requireString, toResponseError } from './errors';
import type { ModelRegistry } from './modelRegistry';

/** What all connections of one backend process share. */
export interface BackendContext {
  registry: ModelRegistry;
  device: DeviceInfo;
  startedAt: number;
  log: (message: string) => void;
  /** Releases the models and ends the process. */
  shutdown(): void;
  /** Requests being handled now, over all connections: what a graceful shutdown waits for, then cancels. */
  inFlight: Set<AbortController>;
  /** Set once a graceful shutdown began: new requests are refused (ShuttingDown) so clients go elsewhere. */
  draining?: boolean;
  /**
   * `agentchord serve`: turns loadModel's `dir` (a model name) into a folder on this machine, refusing client
   * paths. Absent (stdio, `backend.js --listen`): `dir` is a path, as it always was.
   */
  resolveModel?: (dir: string) => string;
  /** One structured event per handled request (method, duration, outcome); `agentchord serve` logs it as JSON. */
  onRequest?: (event: { connection: string; method: string; durationMs: number; ok: boolean; error?: string }) => void;
}

export interface ConnectionAuth {
  /** Names the connection in logs (never the token). */
  connectionId?: string;
  /** The bearer token initialize must carry. */
  token: string;
  /** `agentchord serve --insecure-no-token` on loopback: any initialize is accepted (the socket limits still apply). */
  noToken?: boolean;
  /** Closes the underlying socket (an unauthenticated peer gets nothing more). */
  close(): void;
  /** Called once the peer has shown the token (its connection's pre-authentication limits are lifted). */
  authenticated?(): void;
}

function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  // Compare digests so lengths match and timing reveals nothing about the token.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function modelInfo(model: LoadedModel): ModelInfo {
  const { tokenizer } = model;
  return {
    ...model.info,
    tokenizer: { vocabSize: tokenizer.vocabSize, bosId: tokenizer.bosId, eosIds: tokenizer.eosIds, hasChatTemplate: tokenizer.hasChatTemplate },
  };
}

function checkAttributionRequest(request: unknown, model: LoadedModel, path: string): AttributionRequest {
  const problems = validateAttributionRequest(request, model.info.vocabSize, { maxPositions: model.info.maxPositions, path });
  const [first] = problems;
  if (first) throw new InvalidParamsError(first.path, first.message + formatProblems(problems.slice(1)).map((line) => `; ${line}`).join(''));
  return request as AttributionRequest;
}

function generateOptions(options: unknown): GenerateOptions {
  if (options === undefined) return { ...DEFAULT_GENERATE_OPTIONS };
  const o = requireObject(options);
  const merged = { ...DEFAULT_GENERATE_OPTIONS, ...o } as GenerateOptions;
  const numberField = (name: keyof GenerateOptions, ok: (v: number) => boolean, what: string) => {
    const v = merged[name];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new InvalidParamsError(`options.${name}`, `expected ${what}, got ${JSON.stringify(v)}`);
  };
  numberField('maxTokens', (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  numberField('temperature', (v) => v >= 0, 'a number >= 0');
  numberField('topP', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  numberField('seed', (v) => Number.isInteger(v), 'an integer');
  if (!Array.isArray(merged.stop) || !merged.stop.every((s) => typeof s === 'string')) {
    throw new InvalidParamsError('options.stop', 'expected an array of strings');
  }
  return merged;
}

export function serveConnection(connection: MessageConnection, context: BackendContext, auth?: ConnectionAuth): void {
  let initialized = false;

  /** Before initialize, a TCP peer is a stranger: drop it. On stdio (our own parent) answer with an error. */
  const refuseUninitialized = (): never => {
    auth?.close();
    throw new ResponseError(BackendErrorCodes.NotInitialized, 'the first request must be initialize');
  };

  const connectionId = auth?.connectionId ?? 'stdio';
  const handle = <P, R>(type: RequestType<P, R, void>, fn: (params: P, signal: AbortSignal) => Promise<R> | R) => {
    const handler = async (params: P, token: CancellationToken): Promise<R> => {
      if (!initialized) refuseUninitialized();
      if (context.draining) throw new ResponseError(BackendErrorCodes.ShuttingDown, 'the backend is shutting down and takes no new requests');
      const abort = new AbortController();
      const subscription = token.onCancellationRequested(() => abort.abort());
      const started = Date.now();
      context.inFlight.add(abort);
      let error: string | undefined;
      try {
        return await fn(params, abort.signal);
      } catch (err) {
        const response = toResponseError(err, abort.signal);
        error = response.message;
        throw response;
      } finally {
        context.inFlight.delete(abort);
        subscription.dispose();
        context.onRequest?.({ connection: connectionId, method: type.method, durationMs: Date.now() - started, ok: error === undefined, ...(error !== undefined ? { error } : {}) });
      }
    };
    // The cast only bridges vscode-jsonrpc's conditional HandlerResult type, which TypeScript cannot resolve for a generic R.
    connection.onRequest(type, handler as unknown as RequestHandler<P, R, void>);
  };
  const handle0 = <R>(type: RequestType0<R, void>, fn: () => Promise<R> | R) => {
    const handler = async (): Promise<R> => {
      if (!initialized) refuseUninitialized();
      return fn();
    };
    connection.onRequest(type, handler as unknown as RequestHandler0<R, void>);
  };

  connection.onRequest(InitializeRequest, (params) => {
    const p = params as unknown as Record<string, unknown> | undefined;
    if (auth && !auth.noToken && !sameToken(p?.token, auth.token)) {
      context.log('rejected a TCP connection: missing or wrong token');
      setTimeout(() => auth.close(), 10);
      throw new ResponseError(BackendErrorCodes.Unauthorized, 'missing or wrong backend token');
    }
    if (p?.protocolVersion !== PROTOCOL_VERSION) {
      throw new ResponseError(
        BackendErrorCodes.ProtocolMismatch,
        `protocol version mismatch: the client speaks ${JSON.stringify(p?.protocolVersion)}, this backend (AgentChord ${backendVersion}) speaks ${PROTOCOL_VERSION}; use a client and backend from the same build`,
      );
    }
    initialized = true;
    auth?.authenticated?.();
    return { protocolVersion: PROTOCOL_VERSION, backendVersion, device: context.device, pid: process.pid, ...(context.resolveModel ? { modelsByName: true } : {}) };
  });

  handle(LoadModelRequest, async (params) => {
    const p = requireObject(params);
    const named = requireString(p, 'dir');
    const dir = context.resolveModel ? context.resolveModel(named) : named;
    let device = context.device.device;
    if (p.device !== undefined && p.device !== 'auto') {
      const choice: DeviceChoice | undefined = typeof p.device === 'string' ? parseDeviceChoice(p.device) : undefined;
      if (!choice) throw new InvalidParamsError('device', `expected auto, cpu, cuda or webgpu, got ${JSON.stringify(p.device)}`);
      device = choice as typeof device;
    }
    const { modelId, model } = await context.registry.load(dir, device);
    return { modelId, info: modelInfo(model) };
  });

  handle(UnloadModelRequest, async (params) => ({ unloaded: await context.registry.unload(requireString(requireObject(params), 'modelId')) }));

  handle(TokenizeRequest, async (params) => {
    const p = requireObject(params);
    const model = await context.registry.get(requireString(p, 'modelId'));
    const addSpecialTokens = p.addSpecialTokens !== false;
    const tokenizer = model.tokenizer;
    let ids: number[];
    let ranges: Array<[number, number]> | undefined;
    if (typeof p.text === 'string' && p.segments === undefined) {
      ids = tokenizer.encode(p.text, { addSpecialTokens });
    } else if (Array.isArray(p.segments) && p.text === undefined) {
      p.segments.forEach((s, i) => {
        if (typeof s !== 'string') throw new InvalidParamsError(`segments[${i}]`, 'expected a string');
      });
      ({ ids, ranges } = tokenizer.encodeSegments(p.segments as string[], { addSpecialTokens }));
    } else {
      throw new InvalidParamsError('text', 'give exactly one of text (a string) and segments (an array of strings)');
    }
    return { ids, ranges, pieces: ids.map((id) => tokenizer.idToPiece(id)), texts: tokenizer.tokenTexts(ids) };
  });

  handle(RenderChatRequest, async (params) => {
    const p = requireObject(params);
    const model = await context.registry.get(requireString(p, 'modelId'));
    if (!Array.isArray(p.messages)) throw new InvalidParamsError('messages', 'expected an array of {role, content}');
    if (!model.tokenizer.hasChatTemplate) throw new InvalidParamsError('modelId', `model ${model.info.dir} has no chat template`);
    return { text: model.tokenizer.renderChat(p.messages as never, { addGenerationPrompt: p.addGenerationPrompt === true }) };
  });

  handle(GenerateRequest, async (params, signal) => {
    const p = requireObject(params);
    const model = await context.registry.get(requireString(p, 'modelId'));
    const given = ['prompt', 'promptIds', 'messages'].filter((k) => p[k] !== undefined);
    if (given.length !== 1) throw new InvalidParamsError('prompt', `give exactly one of prompt, promptIds and messages (got ${given.join(', ') || 'none'})`);
    let promptIds: number[];
    if (typeof p.prompt === 'string') {
      promptIds = model.tokenizer.encode(p.prompt, { addSpecialTokens: true });
    } else if (Array.isArray(p.promptIds)) {
      p.promptIds.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= model.info.vocabSize) throw new InvalidParamsError(`promptIds[${i}]`, `expected a token id in [0, ${model.info.vocabSize}), got ${JSON.stringify(id)}`);
      });
      promptIds = p.promptIds as number[];
    } else if (Array.isArray(p.messages)) {
      if (!model.tokenizer.hasChatTemplate) throw new InvalidParamsError('messages', `model ${model.info.dir} has no chat template`);
      // The rendered template already contains the special tokens it wants.
      promptIds = model.tokenizer.encode(model.tokenizer.renderChat(p.messages as never, { addGenerationPrompt: true }), { addSpecialTokens: false });
    } else {
      throw new InvalidParamsError(given[0], 'has the wrong type');
    }
    const options = generateOptions(p.options);
    const handleId = typeof p.streamHandle === 'string' ? p.streamHandle : undefined;
    const onToken = handleId ? (id: number, text: string) => void connection.sendNotification(GenerateTokenNotification, { handle: handleId, id, text }) : undefined;
    return model.generate(promptIds, options, onToken, signal);
  });

  handle(AttributeRequest, async (params, signal) => {
    const p = requireObject(params);
    const model = await context.registry.get(requireString(p, 'modelId'));
    return model.attribute(checkAttributionRequest(p.request, model, 'request'), signal);
  });

  handle(AttributeBatchRequest, async (params, signal) => {
    const p = requireObject(params);
    const model = await context.registry.get(requireString(p, 'modelId'));
    if (!Array.isArray(p.requests)) throw new InvalidParamsError('requests', 'expected an array of attribution requests');
    const requests = p.requests.map((r, i) => checkAttributionRequest(r, model, `requests[${i}]`));
    const results: AttributionResult[] = [];
    for (const request of requests) results.push(await model.attribute(request, signal));
    return results;
  });

  handle0(StatusRequest, () => {
    const memory = process.memoryUsage();
    return {
      device: context.device,
      providers: context.device.providers,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
      loadedModels: context.registry.list(),
      uptimeSeconds: (Date.now() - context.startedAt) / 1000,
      pid: process.pid,
    };
  });

  handle0(BackendStatusRequest, () => ({
    version: backendVersion,
    protocolVersion: PROTOCOL_VERSION,
    device: context.device,
    loadedModels: context.registry.list(),
    inFlight: context.inFlight.size,
    uptimeSeconds: (Date.now() - context.startedAt) / 1000,
    draining: context.draining === true,
    pid: process.pid,
  }));

  handle0(ShutdownRequest, () => {
    // Answer first; the process ends right after the reply is written.
    setTimeout(() => context.shutdown(), 20);
    return null;
  });

  connection.onRequest((method) => {
    if (!initialized) refuseUninitialized();
    throw new ResponseError(-32601, `unknown method '${method}'`);
  });
  connection.onNotification(() => {
    if (!initialized) auth?.close();
  });
}
