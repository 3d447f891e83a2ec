/**
 * A real local HTTP server speaking the OpenAI chat-completions API, for tests of anything that calls models.
 * It listens on 127.0.0.1 on a random port and answers from a script: a queue of replies or a function of the
 * request. A reply can be a text message, tool calls, an HTTP error (with headers such as Retry-After), a slow
 * answer, a dropped connection or malformed JSON; when the client asks for `stream: true` the same text or tool
 * calls are sent as server-sent events (content and tool-call argument deltas, usage, `[DONE]`).
 * Every request is recorded so tests can assert on what was sent (and on what was not).
 * POST /v1/responses (the Responses API, non-streaming only) is answered from the same script and counter: a text
 * reply becomes an output message, tool calls become function_call items.
 *
 *   const server = await OpenAITestServer.start({ replies: [reply.text('hello')] });
 *   ... new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model' }) ...
 *   assert.equal(server.completionRequests.length, 1);
 *   await server.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  id?: string;
  name: string;
  /** An object is sent as its JSON; a string is sent as is (so tests can send invalid JSON). */
  arguments: string | Record<string, unknown>;
}

interface ReplyTiming {
  /** Wait this long before answering (a slow server). */
  delayMs?: number;
}

interface MessageReplyExtras extends ReplyTiming {
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Model name in the answer (default: the requested one). */
  model?: string;
  /** Streaming only: characters per content / argument delta (default 4). */
  streamChunkChars?: number;
  /** Streaming only: pause between events. */
  streamChunkDelayMs?: number;
  /** Streaming only: drop the connection after this many events (a stream cut mid-way). */
  dropAfterEvents?: number;
}

export type ScriptedReply =
  | ({ type: 'text'; content: string } & MessageReplyExtras)
  | ({ type: 'tool_calls'; calls: ScriptedToolCall[]; content?: string } & MessageReplyExtras)
  | ({ type: 'error'; status: number; message?: string; code?: string; headers?: Record<string, string> } & ReplyTiming)
  /** Destroys the socket without answering. */
  | ({ type: 'drop' } & ReplyTiming)
  /** Sends `body` verbatim (e.g. broken JSON). */
  | ({ type: 'raw'; status: number; body: string; contentType?: string } & ReplyTiming);

/** Shorthands for scripted replies. */
export const reply = {
  text: (content: string, extras: MessageReplyExtras = {}): ScriptedReply => ({ type: 'text', content, ...extras }),
  toolCalls: (calls: ScriptedToolCall[], extras: MessageReplyExtras & { content?: string } = {}): ScriptedReply => ({
    type: 'tool_calls',
    calls,
    ...extras,
  }),
  error: (status: number, options: { message?: string; code?: string; retryAfter?: string; headers?: Record<string, string>; delayMs?: number } = {}): ScriptedReply => ({
    type: 'error',
    status,
    message: options.message,
    code: options.code,
    delayMs: options.delayMs,
    headers: { ...(options.retryAfter === undefined ? {} : { 'retry-after': options.retryAfter }), ...options.headers },
  }),
  drop: (delayMs?: number): ScriptedReply => ({ type: 'drop', delayMs }),
  raw: (status: number, body: string, contentType = 'application/json'): ScriptedReply => ({ type: 'raw', status, body, contentType }),
  slow: (delayMs: number, inner: ScriptedReply): ScriptedReply => ({ ...inner, delayMs }),
};

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. '/v1/chat/completions'. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GET or a body that is not JSON). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary fields of what was sent
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

export type ReplyScript = (request: RecordedRequest, index: number) => ScriptedReply;

export interface TestServerOptions {
  /** A queue consumed one reply per chat-completions request, or a function deciding each reply. */
  replies?: ScriptedReply[] | ReplyScript;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`; others get a 401 (echoing what was sent, as some servers do). */
  apiKey?: string;
  /** Served by GET /v1/models. */
  models?: string[];
}

export class OpenAITestServer {
  /** Every request received, in order (chat completions, model listings, anything else). */
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ScriptedReply[];
  private readonly script?: ReplyScript;
  private completionCount = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: TestServerOptions,
    readonly baseUrl: string,
  ) {
    this.queue = Array.isArray(options.replies) ? [...options.replies] : [];
    this.script = typeof options.replies === 'function' ? options.replies : undefined;
  }

  static async start(options: TestServerOptions = {}): Promise<OpenAITestServer> {
    const holder: { instance?: OpenAITestServer } = {};
    const server = createServer((req, res) => {
      holder.instance!.handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `openaiTestServer crashed: ${(err as Error).message}` } }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    holder.instance = new OpenAITestServer(server, options, `http://127.0.0.1:${port}/v1`);
    return holder.instance;
  }

  /** Requests to POST /v1/chat/completions only. */
  get completionRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions');
  }

  /** Requests to POST /v1/responses only. */
  get responsesRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/responses');
  }

  enqueue(...replies: ScriptedReply[]): void {
    this.queue.push(...replies);
  }

  /** Replies still waiting in the queue. */
  get pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0];
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, receivedAt: Date.now() };
    this.requests.push(recorded);

    if (this.options.apiKey !== undefined) {
      const sent = req.headers.authorization ?? '';
      if (sent !== `Bearer ${this.options.apiKey}`) {
        return sendJson(res, 401, {
          error: { message: `Incorrect API key provided: ${sent.replace(/^Bearer\s+/i, '') || '(none)'}`, type: 'invalid_request_error', code: 'invalid_api_key' },
        });
      }
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: (this.options.models ?? ['test-model']).map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) });
    }
    const responsesApi = req.method === 'POST' && path === '/v1/responses';
    if (responsesApi && (body as { stream?: unknown } | undefined)?.stream === true) {
      return sendJson(res, 400, { error: { message: 'openaiTestServer: streaming is not supported for /v1/responses', type: 'invalid_request_error' } });
    }
    if (!responsesApi && (req.method !== 'POST' || path !== '/v1/chat/completions')) {
      return sendJson(res, 404, { error: { message: `openaiTestServer: no route ${req.method} ${path}`, type: 'invalid_request_error' } });
    }
    const index = this.completionCount++;
    const scripted = this.script ? this.script(recorded, index) : this.queue.shift();
    if (!scripted) {
      return sendJson(res, 500, { error: { message: `openaiTestServer: no scripted reply left for chat request #${index + 1}`, type: 'server_error' } });
    }
    if (scripted.delayMs && !(await waitUnlessClosed(res, scripted.delayMs))) return;
    await this.answer(scripted, recorded, index, res);
  }

  private async answer(scripted: ScriptedReply, request: RecordedRequest, index: number, res: ServerResponse): Promise<void> {
    switch (scripted.type) {
      case 'drop':
        res.socket?.destroy();
        return;
      case 'raw':
        res.writeHead(scripted.status, { 'content-type': scripted.contentType ?? 'application/json' });
        res.end(scripted.body);
        return;
      case 'error':
        return sendJson(
          res,
          scripted.status,
          { error: { message: scripted.message ?? `scripted HTTP ${scripted.status}`, type: 'scripted_error', code: scripted.code ?? null } },
          scripted.headers,
        );
      default: {
        const message = toAssistantMessage(scripted, index);
        const finishReason = scripted.finishReason ?? (message.tool_calls ? 'tool_calls' : 'stop');
        const model = scripted.model ?? String(request.body?.model ?? 'test-model');
        if (request.path === '/v1/responses') {
          const usage = scripted.usage ?? estimateUsage({ messages: [request.body?.instructions ?? null, request.body?.input ?? null] }, message);
          return sendJson(res, 200, toResponsesBody(message, request.body, { model, usage, index }));
        }
        const usage = scripted.usage ?? estimateUsage(request.body, message);
        if (request.body?.stream === true) {
          return streamAnswer(res, scripted, message, { model, finishReason, usage, index, includeUsage: request.body?.stream_options?.include_usage === true });
        }
        return sendJson(res, 200, {
          id: `chatcmpl-test-${index + 1}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        });
      }
    }
  }
}

interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface WireAssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: WireToolCall[];
}

function toAssistantMessage(scripted: Extract<ScriptedReply, { type: 'text' | 'tool_calls' }>, index: number): WireAssistantMessage {
  if (scripted.type === 'text') return { role: 'assistant', content: scripted.content };
  return {
    role: 'assistant',
    content: scripted.content ?? null,
    tool_calls: scripted.calls.map((c, i) => ({
      id: c.id ?? `call_${index + 1}_${i + 1}`,
      type: 'function',
      function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
    })),
  };
}

/** The Responses API answer for a scripted message: an output message for the text, a function_call item per tool call. */
function toResponsesBody(
  message: WireAssistantMessage,
  body: any, // eslint-disable-line @typescript-eslint/no-explicit-any
  meta: { model: string; usage: { prompt_tokens: number; completion_tokens: number }; index: number },
): Record<string, unknown> {
  const n = meta.index + 1;
  const output: Record<string, unknown>[] = [];
  if (message.content !== null) {
    output.push({ type: 'message', id: `msg_test_${n}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: message.content, annotations: [], logprobs: [] }] });
  }
  (message.tool_calls ?? []).forEach((call, i) => {
    output.push({ type: 'function_call', id: `fc_test_${n}_${i + 1}`, call_id: call.id, name: call.function.name, arguments: call.function.arguments, status: 'completed' });
  });
  return {
    id: `resp_test_${n}`,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: body?.instructions ?? null,
    model: meta.model,
    output,
    parallel_tool_calls: true,
    tool_choice: body?.tool_choice ?? 'auto',
    tools: body?.tools ?? [],
    temperature: body?.temperature ?? null,
    top_p: body?.top_p ?? null,
    metadata: {},
    text: { format: { type: 'text' } },
    usage: {
      input_tokens: meta.usage.prompt_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: meta.usage.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: meta.usage.prompt_tokens + meta.usage.completion_tokens,
    },
  };
}

/** Deterministic stand-in for token counts: one token per 4 characters. */
function estimateUsage(body: any, message: WireAssistantMessage): { prompt_tokens: number; completion_tokens: number } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const promptChars = JSON.stringify(body?.messages ?? []).length;
  const completionChars = (message.content ?? '').length + JSON.stringify(message.tool_calls ?? []).length * (message.tool_calls ? 1 : 0);
  return { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.max(1, Math.ceil(completionChars / 4)) };
}

async function streamAnswer(
  res: ServerResponse,
  scripted: MessageReplyExtras,
  message: WireAssistantMessage,
  meta: { model: string; finishReason: string; usage: { prompt_tokens: number; completion_tokens: number }; index: number; includeUsage: boolean },
): Promise<void> {
  const size = Math.max(1, scripted.streamChunkChars ?? 4);
  const pieces = (s: string) => (s.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? []);
  const base = { id: `chatcmpl-test-${meta.index + 1}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: meta.model };
  const events: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
  for (const piece of pieces(message.content ?? '')) events.push({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  (message.tool_calls ?? []).forEach((call, i) => {
    events.push({
      ...base,
      choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, finish_reason: null }],
    });
    for (const piece of pieces(call.function.arguments)) {
      events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: piece } }] }, finish_reason: null }] });
    }
  });
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: meta.finishReason }] });
  if (meta.includeUsage) {
    events.push({ ...base, choices: [], usage: { ...meta.usage, total_tokens: meta.usage.prompt_tokens + meta.usage.completion_tokens } });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (let i = 0; i < events.length; i++) {
    if (scripted.dropAfterEvents !== undefined && i >= scripted.dropAfterEvents) {
      res.socket?.destroy();
      return;
    }
    // Wait until each event is handed to the socket, so a drop after N events really delivers N.
    await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(events[i])}\n\n`, () => resolve()));
    if (scripted.streamChunkDelayMs && !(await waitUnlessClosed(res, scripted.streamChunkDelayMs))) return;
  }
  res.end('data: [DONE]\n\n');
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Waits `ms`; resolves false early if the client went away (so a cancelled request does not hold the server). */
function waitUnlessClosed(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}
