/** Hand-made OTLP/JSON for the edge cases no instrumentation records on purpose (cycles, duplicates, old forms). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Attr = string | number | boolean;

export interface SpanSpec {
  traceId?: string;
  spanId: string;
  parent?: string;
  name: string;
  /** Start in ms after an arbitrary origin (ordering only). */
  at: number;
  attributes?: Record<string, Attr>;
  events?: Array<{ name: string; attributes: Record<string, Attr> }>;
}

export const TRACE = '0af7651916cd43dd8448eb211c80319c';

const anyValue = (v: Attr) =>
  typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
const attributes = (a: Record<string, Attr> = {}) => Object.entries(a).map(([key, value]) => ({ key, value: anyValue(value) }));
const nanos = (ms: number) => `${BigInt(1_700_000_000_000 + ms) * 1_000_000n}`;

export function otlpSpan(s: SpanSpec): Record<string, unknown> {
  return {
    traceId: s.traceId ?? TRACE,
    spanId: s.spanId,
    ...(s.parent ? { parentSpanId: s.parent } : {}),
    name: s.name,
    kind: 1,
    startTimeUnixNano: nanos(s.at),
    endTimeUnixNano: nanos(s.at + 5),
    attributes: attributes(s.attributes),
    events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: nanos(s.at), attributes: attributes(e.attributes) })),
  };
}

/** One ExportTraceServiceRequest holding the spans. */
export function exportRequest(spans: SpanSpec[]): Record<string, unknown> {
  return { resourceSpans: [{ resource: { attributes: attributes({ 'service.name': 'test' }) }, scopeSpans: [{ scope: { name: 'hand-made' }, spans: spans.map(otlpSpan) }] }] };
}

/** An LLM span in the older flattened GenAI form (gen_ai.prompt.N.* / gen_ai.completion.N.*). */
export function flatLlm(spanId: string, parent: string | undefined, at: number, system: string, user: string, output: string): SpanSpec {
  return {
    spanId,
    parent,
    name: 'chat gpt-4o',
    at,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': system,
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': user,
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': output,
    },
  };
}

export function agentSpan(spanId: string, name: string, at: number, parent?: string): SpanSpec {
  return { spanId, parent, name: `invoke_agent ${name}`, at, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name } };
}

/** Writes `content` (objects become one JSON line each) to a new temp file. */
export function traceFile(content: string | object[], name = 'trace.jsonl'): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-trace-'));
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : content.map((c) => JSON.stringify(c)).join('\n') + '\n');
  return file;
}
