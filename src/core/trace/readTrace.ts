/**
 * Streams a trace export into TraceSpans, in bounded memory: a JSON document is never held whole (stream-json picks
 * one span or log record at a time out of the token stream), and spans that are neither LLM, agent nor tool spans
 * keep only their ids, name and times.
 *
 * Formats:
 *   otlp-json      `ExportTraceServiceRequest`s (and `ExportLogsServiceRequest`s, where GenAI instrumentation puts
 *                  message content in log records) as the OpenTelemetry Collector's file exporter and OTLP/HTTP JSON
 *                  write them: one request per file, or one per line (JSON Lines). camelCase or snake_case keys; ids
 *                  in hex (the OTLP/JSON rule) or base64 (the protobuf JSON mapping).
 *   openinference  OpenInference spans as Phoenix exports them: one span object per line, `context.trace_id`,
 *                  `context.span_id`, `parent_id`, `start_time`/`end_time` (ISO), nested or dotted `attributes`.
 */
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import chain, { none } from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { TraceError, type AttributeValue, type Attributes, type SpanEvent, type SpanRole, type TraceFormat, type TraceSpan } from './types';

export interface ReadTraceOptions {
  format?: TraceFormat | 'auto';
  signal?: AbortSignal;
}

export interface ReadTraceResult {
  format: TraceFormat;
  spans: TraceSpan[];
  /** GenAI events recorded as log records, by the span they belong to (attachLogs puts them on their spans). */
  logs: LogEvent[];
  /** Lines (requests) read. */
  lines: number;
}

export type LogEvent = { spanId: string; event: SpanEvent };

const OTLP_SPAN = /^(resourceSpans|resource_spans)\.\d+\.(scopeSpans|scope_spans|instrumentationLibrarySpans)\.\d+\.spans\.\d+$/;
const OTLP_LOG = /^(resourceLogs|resource_logs)\.\d+\.(scopeLogs|scope_logs)\.\d+\.(logRecords|log_records)\.\d+$/;

/** Reads every span and GenAI log record of `file`. Errors name the file and line. */
export async function readTraceFile(file: string, options: ReadTraceOptions = {}): Promise<ReadTraceResult> {
  const format = options.format && options.format !== 'auto' ? options.format : detectFormat(file);
  const spans: TraceSpan[] = [];
  const logs: LogEvent[] = [];
  let line = 1;
  const topLevelKeys = new Set<string>();

  const onValue = (value: unknown, path: string) => {
    const where = `${file}:${line}`;
    if (format === 'openinference') {
      spans.push(openInferenceSpan(value, where));
    } else if (OTLP_LOG.test(path)) {
      const log = otlpLogRecord(value);
      if (log) logs.push(log);
    } else {
      spans.push(otlpSpan(value, where));
    }
  };

  let currentPath = '';
  const filter = (stack: readonly (string | number | null)[]) => {
    if (format === 'openinference') return stack.length === 0;
    if (stack.length === 1 && typeof stack[0] === 'string' && topLevelKeys.size < 20) topLevelKeys.add(stack[0]);
    const path = stack.join('.');
    if (OTLP_SPAN.test(path) || OTLP_LOG.test(path)) {
      currentPath = path;
      return true;
    }
    return false;
  };

  // Each chunk handed to the parser ends at a newline, so when the parser fails or a value completes, `line` is the
  // line it is on (the parser, the filter and the sink run synchronously on one chunk).
  // A character split across two read chunks is decoded once both halves are there (StringDecoder).
  const decoder = new StringDecoder('utf8');
  function* byLine(chunk: Buffer): Generator<string> {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
      yield decoder.write(chunk.subarray(start, i + 1));
      line++;
      start = i + 1;
    }
    if (start < chunk.length) yield decoder.write(chunk.subarray(start));
  }

  const source = createReadStream(file, { highWaterMark: 1 << 16, signal: options.signal });
  const pipeline = chain([
    source,
    byLine,
    parser({ jsonStreaming: true }),
    pick({ filter }),
    streamValues(),
    ({ value }: { value: unknown }) => {
      onValue(value, currentPath);
      return none;
    },
  ]);
  await new Promise<void>((resolve, reject) => {
    pipeline.on('error', (err: Error) => {
      if (err instanceof TraceError) reject(err);
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new TraceError(`${file}: no such file`));
      else if (err.name === 'AbortError') reject(err);
      else reject(new TraceError(`${file}:${line}: not valid JSON (${err.message}); expected an OTLP/JSON trace export or OpenInference spans`));
    });
    pipeline.on('finish', () => resolve());
    pipeline.on('end', () => resolve());
    pipeline.resume();
  });
  if (format === 'otlp-json' && spans.length === 0 && logs.length === 0) {
    const keys = [...topLevelKeys];
    throw new TraceError(
      `${file}: not a trace: no "resourceSpans" found${keys.length ? ` (its top-level keys are ${keys.map((k) => `"${k}"`).join(', ')})` : ''}; ` +
        'expected an OTLP/JSON ExportTraceServiceRequest (the Collector\'s file exporter, OTLP/HTTP JSON) or OpenInference spans (--format openinference)',
    );
  }
  return { format, spans, logs, lines: line };
}

/** otlp-json or openinference, from the first 64 KB; a file that is neither is an error naming it. */
function detectFormat(file: string): TraceFormat {
  let head: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(1 << 16);
      head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TraceError(`${file}: cannot read the trace file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`);
  }
  if (/"(resourceSpans|resource_spans|resourceLogs|resource_logs)"\s*:/.test(head)) return 'otlp-json';
  if (/"context"\s*:\s*\{[^}]*"span_id"/.test(head) || /"span_id"\s*:/.test(head)) return 'openinference';
  const first = head.trimStart().slice(0, 60).replace(/\s+/g, ' ');
  throw new TraceError(
    `${file}: not a trace: found neither "resourceSpans" (OTLP/JSON) nor "span_id" (OpenInference) in its first 64 KB (it starts with "${first}")`,
  );
}

// ---- OTLP/JSON

/**
 * A copy of `s` that does not keep the parser's input alive: V8 substrings point into the string they were cut from,
 * so a span id kept from each read chunk would keep every chunk, i.e. the whole file. The cons-then-slice makes V8
 * flatten the text into a string of its own.
 */
function fresh(s: string): string {
  return (' ' + s).slice(1);
}

/** Hex ids stay (lowercased); base64 ids (protobuf JSON mapping) become hex; '' for none. */
export function normalizeId(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  if (/^[0-9a-fA-F]+$/.test(value) && (value.length === 16 || value.length === 32)) return fresh(value.toLowerCase());
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 8 || bytes.length === 16 ? bytes.toString('hex') : value;
}

/** OTLP AnyValue → AttributeValue. */
export function anyValue(value: unknown): AttributeValue {
  if (value === null || typeof value !== 'object') return (value ?? null) as AttributeValue;
  const v = value as Record<string, unknown>;
  const pick = (camel: string, snake: string) => (camel in v ? v[camel] : v[snake]);
  if ('stringValue' in v || 'string_value' in v) return fresh(String(pick('stringValue', 'string_value')));
  if ('boolValue' in v || 'bool_value' in v) return Boolean(pick('boolValue', 'bool_value'));
  if ('intValue' in v || 'int_value' in v) return Number(pick('intValue', 'int_value'));
  if ('doubleValue' in v || 'double_value' in v) return Number(pick('doubleValue', 'double_value'));
  if ('bytesValue' in v || 'bytes_value' in v) return String(pick('bytesValue', 'bytes_value'));
  if ('arrayValue' in v || 'array_value' in v) {
    const list = (pick('arrayValue', 'array_value') as { values?: unknown[] } | undefined)?.values ?? [];
    return list.map(anyValue);
  }
  if ('kvlistValue' in v || 'kvlist_value' in v) {
    const list = (pick('kvlistValue', 'kvlist_value') as { values?: unknown[] } | undefined)?.values ?? [];
    return Object.fromEntries(list.map((kv) => [String((kv as { key?: unknown }).key), anyValue((kv as { value?: unknown }).value)]));
  }
  return null; // an empty AnyValue
}

/** Attributes from OTLP `[{key, value: AnyValue}]` or from a plain object (OpenInference), flattened as well. */
function attributesOf(list: unknown): Attributes {
  const out: Attributes = new Map();
  if (Array.isArray(list)) {
    for (const kv of list) {
      if (kv && typeof kv === 'object' && typeof (kv as { key?: unknown }).key === 'string') {
        addAttribute(out, fresh((kv as { key: string }).key), anyValue((kv as { value?: unknown }).value));
      }
    }
  } else if (list && typeof list === 'object') {
    for (const [key, value] of Object.entries(list as Record<string, unknown>)) addAttribute(out, fresh(key), freshValue(value as AttributeValue));
  }
  return out;
}

function freshValue(v: AttributeValue): AttributeValue {
  if (typeof v === 'string') return fresh(v);
  if (Array.isArray(v)) return v.map(freshValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [fresh(k), freshValue(x)]));
  return v;
}

function addAttribute(out: Attributes, key: string, value: AttributeValue): void {
  out.set(key, value);
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [k, v] of entries) addAttribute(out, `${key}.${k}`, v);
  }
}

const field = (o: Record<string, unknown>, camel: string, snake: string): unknown => (camel in o ? o[camel] : o[snake]);

function otlpSpan(value: unknown, where: string): TraceSpan {
  if (!value || typeof value !== 'object') throw new TraceError(`${where}: a span is not a JSON object`);
  const s = value as Record<string, unknown>;
  const spanId = normalizeId(field(s, 'spanId', 'span_id'));
  const traceId = normalizeId(field(s, 'traceId', 'trace_id'));
  const name = typeof s.name === 'string' ? fresh(s.name) : '';
  if (!spanId) throw new TraceError(`${where}: span "${name}" has no spanId`);
  if (!traceId) throw new TraceError(`${where}: span ${spanId} ("${name}") has no traceId`);
  const attributes = attributesOf(s.attributes);
  const events = Array.isArray(s.events)
    ? s.events.map((e) => {
        const ev = (e ?? {}) as Record<string, unknown>;
        return { name: fresh(String(ev.name ?? '')), timeUnixNano: fresh(String(field(ev, 'timeUnixNano', 'time_unix_nano') ?? '0')), attributes: attributesOf(ev.attributes) };
      })
    : [];
  return finish({
    traceId,
    spanId,
    parentSpanId: normalizeId(field(s, 'parentSpanId', 'parent_span_id')) || undefined,
    name,
    startTimeUnixNano: fresh(String(field(s, 'startTimeUnixNano', 'start_time_unix_nano') ?? '0')),
    endTimeUnixNano: fresh(String(field(s, 'endTimeUnixNano', 'end_time_unix_nano') ?? '0')),
    role: 'other',
    attributes,
    events,
    where,
  });
}

/** A GenAI event recorded as a log record (`gen_ai.user.message`, `gen_ai.choice`, ...), or undefined for others. */
function otlpLogRecord(value: unknown): LogEvent | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const attributes = attributesOf(r.attributes);
  const eventName = field(r, 'eventName', 'event_name') ?? attributes.get('event.name');
  const spanId = normalizeId(field(r, 'spanId', 'span_id'));
  if (typeof eventName !== 'string' || !eventName.startsWith('gen_ai.') || !spanId) return undefined;
  const body = anyValue(r.body);
  addAttribute(attributes, 'body', body);
  return { spanId, event: { name: fresh(eventName), timeUnixNano: fresh(String(field(r, 'timeUnixNano', 'time_unix_nano') ?? '0')), attributes } };
}

/** Puts GenAI log records on their spans (they may come from another file of the same export). */
export function attachLogs(spans: TraceSpan[], logs: readonly LogEvent[]): void {
  if (logs.length === 0) return;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const { spanId, event } of logs) {
    const span = byId.get(spanId);
    if (!span) continue; // a log of a span not in this export: nothing to attach it to
    span.events.push(event);
    if (span.role === 'other') {
      // Content arrived in logs only: the span may now be recognisable as an LLM call.
      const role = spanRole(span.attributes, span.events);
      if (role !== 'other') span.role = role;
    }
  }
  for (const span of spans) span.events.sort((a, b) => compareNanos(a.timeUnixNano, b.timeUnixNano));
}

// ---- OpenInference (Phoenix) span exports

function openInferenceSpan(value: unknown, where: string): TraceSpan {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TraceError(`${where}: not a span object`);
  const s = value as Record<string, unknown>;
  const context = (s.context ?? {}) as Record<string, unknown>;
  const spanId = normalizeId(context.span_id ?? s.span_id);
  const traceId = normalizeId(context.trace_id ?? s.trace_id);
  const name = typeof s.name === 'string' ? fresh(s.name) : '';
  if (!spanId) throw new TraceError(`${where}: span "${name}" has no context.span_id`);
  if (!traceId) throw new TraceError(`${where}: span ${spanId} ("${name}") has no context.trace_id`);
  const attributes = attributesOf(s.attributes);
  if (typeof s.span_kind === 'string' && !attributes.has('openinference.span.kind')) attributes.set('openinference.span.kind', s.span_kind);
  const events = Array.isArray(s.events)
    ? s.events.map((e) => {
        const ev = (e ?? {}) as Record<string, unknown>;
        return { name: String(ev.name ?? ''), timeUnixNano: isoToNanos(ev.timestamp), attributes: attributesOf(ev.attributes) };
      })
    : [];
  return finish({
    traceId,
    spanId,
    parentSpanId: normalizeId(s.parent_id) || undefined,
    name,
    startTimeUnixNano: isoToNanos(s.start_time),
    endTimeUnixNano: isoToNanos(s.end_time),
    role: 'other',
    attributes,
    events,
    where,
  });
}

function isoToNanos(value: unknown): string {
  if (typeof value === 'number') return String(Math.round(value));
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? `${BigInt(ms) * 1_000_000n}` : '0';
}

// ---- roles

function finish(span: TraceSpan): TraceSpan {
  span.role = spanRole(span.attributes, span.events);
  if (span.role === 'other') {
    // Only its place in the tree matters: drop the attributes (large exports are mostly such spans).
    span.attributes = new Map();
    span.events = [];
  }
  return span;
}

const LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'completion', 'responses']);

/** LLM call, agent, tool or other, from the GenAI and OpenInference attributes. */
export function spanRole(attributes: Attributes, events: readonly SpanEvent[] = []): SpanRole {
  const operation = attributes.get('gen_ai.operation.name');
  const kind = String(attributes.get('openinference.span.kind') ?? '').toUpperCase();
  if (kind === 'LLM' || (typeof operation === 'string' && LLM_OPERATIONS.has(operation))) return 'llm';
  if (operation === 'invoke_agent' || operation === 'create_agent' || kind === 'AGENT') return 'agent';
  if (operation === 'execute_tool' || kind === 'TOOL') return 'tool';
  if (attributes.has('gen_ai.prompt.0.role') || attributes.has('gen_ai.prompt.0.content') || attributes.has('llm.input_messages.0.message.role')) return 'llm';
  if (attributes.has('gen_ai.input.messages') || events.some((e) => e.name.startsWith('gen_ai.') && e.name.endsWith('.message'))) return 'llm';
  if (attributes.has('gen_ai.request.model') || attributes.has('gen_ai.system') || attributes.has('gen_ai.provider.name')) return 'llm';
  if (attributes.has('gen_ai.agent.name')) return 'agent';
  return 'other';
}

/** Orders decimal nanosecond strings (too large for doubles). */
export function compareNanos(a: string, b: string): number {
  const x = BigInt(/^\d+$/.test(a) ? a : '0');
  const y = BigInt(/^\d+$/.test(b) ? b : '0');
  return x < y ? -1 : x > y ? 1 : 0;
}
