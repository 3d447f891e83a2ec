/**
 * The messages of one recorded LLM call, whichever convention recorded them. Tried in this order (the first that
 * has content wins):
 *   1. GenAI semantic conventions, current: `gen_ai.system_instructions`, `gen_ai.input.messages`,
 *      `gen_ai.output.messages` (parts: text, tool_call, tool_call_response), on the span or on an event of it;
 *   2. OpenInference: `llm.input_messages.N.message.{role,content,contents,tool_calls,tool_call_id}`,
 *      `llm.output_messages.N.message.*`;
 *   3. GenAI, older flattened form (OpenLLMetry): `gen_ai.prompt.N.{role,content,tool_calls}`, `gen_ai.completion.N.*`;
 *   4. GenAI events, as span events or as log records: `gen_ai.{system,user,assistant,tool}.message`, `gen_ai.choice`
 *      (content in the body), and the oldest `gen_ai.content.prompt` / `gen_ai.content.completion` events.
 */
import type { AttributeValue, Attributes, SpanEvent, TraceSpan } from './types';

export interface RecordedToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface RecordedMessage {
  role: string;
  content: string;
  toolCalls?: RecordedToolCall[];
  /** For role `tool`: the id of the call it answers. */
  toolCallId?: string;
  /** For role `tool`: the tool's name when recorded. */
  name?: string;
}

export interface LlmExchange {
  model: string;
  input: RecordedMessage[];
  output: { content: string; toolCalls: RecordedToolCall[] };
  /** Which convention held the content. */
  convention: 'gen_ai' | 'openinference' | 'gen_ai.prompt' | 'gen_ai events';
}

/** The call's messages, or undefined when the span records none (content capture off). */
export function llmExchange(span: TraceSpan): LlmExchange | undefined {
  const a = span.attributes;
  const model = text(a.get('gen_ai.request.model') ?? a.get('gen_ai.response.model') ?? a.get('llm.model_name')) || 'unknown';
  const found = currentGenAi(a) ?? currentGenAiOnEvents(span.events, a) ?? openInference(a) ?? flattenedGenAi(a) ?? genAiEvents(span.events);
  return found && hasContent(found) ? { model, ...found } : undefined;
}

/** Content capture off still records the events, with empty bodies: that is no content. */
function hasContent(found: Found): boolean {
  const all = [...found.input, { role: 'assistant', content: found.output.content, toolCalls: found.output.toolCalls }];
  return all.some((m) => m.content.trim() !== '' || (m.toolCalls ?? []).some((t) => t.arguments.trim() !== ''));
}

type Found = Omit<LlmExchange, 'model'>;

// ---- 1. current GenAI conventions

function currentGenAi(a: Attributes, span: Attributes = a, outputFrom: Attributes = a): Found | undefined {
  const input = jsonish(a.get('gen_ai.input.messages'));
  const output = jsonish(outputFrom.get('gen_ai.output.messages'));
  if (!Array.isArray(input) && !Array.isArray(output)) return undefined;
  const messages: RecordedMessage[] = [];
  for (const m of Array.isArray(input) ? input : []) messages.push(...partsMessage(m));
  const instructions = jsonish(a.get('gen_ai.system_instructions') ?? span.get('gen_ai.system_instructions'));
  if (instructions !== undefined && !messages.some((m) => m.role === 'system')) {
    const content = Array.isArray(instructions) ? partsText(instructions) : text(instructions);
    if (content) messages.unshift({ role: 'system', content });
  }
  const out = (Array.isArray(output) ? output : []).flatMap(partsMessage).filter((m) => m.role !== 'system');
  return { input: messages, output: joinOutputs(out), convention: 'gen_ai' };
}

/**
 * The same on events (`gen_ai.client.inference.operation.details`): input and output may be two events, and the
 * system instructions an attribute of the span.
 */
function currentGenAiOnEvents(events: readonly SpanEvent[], span: Attributes): Found | undefined {
  const withInput = events.find((e) => e.attributes.has('gen_ai.input.messages'));
  const withOutput = events.find((e) => e.attributes.has('gen_ai.output.messages'));
  if (!withInput && !withOutput) return undefined;
  return currentGenAi(withInput?.attributes ?? new Map(), span, withOutput?.attributes ?? new Map());
}

/** A message of parts: `{role, parts: [{type: text|tool_call|tool_call_response, ...}]}` (tool responses split off). */
function partsMessage(value: unknown): RecordedMessage[] {
  if (!isObject(value)) return [];
  const role = text(value.role) || 'user';
  const parts = Array.isArray(value.parts) ? value.parts.filter(isObject) : [];
  if (!Array.isArray(value.parts)) return [{ role, content: contentText(value.content) }];
  const out: RecordedMessage[] = [];
  const texts: string[] = [];
  const toolCalls: RecordedToolCall[] = [];
  for (const part of parts) {
    const type = text(part.type);
    // The Responses API has an item id and a call id; tool responses answer the call id.
    if (type === 'tool_call') toolCalls.push({ id: text(part.call_id ?? part.id), name: text(part.name), arguments: argumentsText(part.arguments) });
    else if (type === 'tool_call_response') out.push({ role: 'tool', content: contentText(part.response ?? part.result ?? part.content), toolCallId: text(part.call_id ?? part.id) });
    else if (typeof part.content === 'string') texts.push(part.content);
    else if (typeof part.text === 'string') texts.push(part.text);
  }
  if (texts.length || toolCalls.length || out.length === 0) {
    out.unshift({ role, content: texts.join(''), ...(toolCalls.length ? { toolCalls } : {}) });
  }
  return out.filter((m) => m.role !== 'tool' || m.toolCallId !== undefined || m.content !== '');
}

function partsText(parts: unknown[]): string {
  return parts.map((p) => (isObject(p) ? text(p.content ?? p.text) : text(p))).join('');
}

// ---- 2. OpenInference

function openInference(a: Attributes): Found | undefined {
  const input = indexedMessages(a, 'llm.input_messages', oiMessage);
  const output = indexedMessages(a, 'llm.output_messages', oiMessage);
  if (input.length === 0 && output.length === 0) return undefined;
  return { input, output: joinOutputs(output), convention: 'openinference' };
}

function oiMessage(a: Attributes, p: string): RecordedMessage | undefined {
  const role = a.get(`${p}.message.role`);
  if (role === undefined && !a.has(`${p}.message.content`) && !a.has(`${p}.message.contents.0.message_content.text`)) return undefined;
  let content = text(a.get(`${p}.message.content`));
  if (!content) {
    const parts: string[] = [];
    for (let j = 0; a.has(`${p}.message.contents.${j}.message_content.type`) || a.has(`${p}.message.contents.${j}.message_content.text`); j++) {
      parts.push(text(a.get(`${p}.message.contents.${j}.message_content.text`)));
    }
    content = parts.join('');
  }
  const toolCalls: RecordedToolCall[] = [];
  for (let k = 0; a.has(`${p}.message.tool_calls.${k}.tool_call.function.name`); k++) {
    const q = `${p}.message.tool_calls.${k}.tool_call`;
    toolCalls.push({ id: text(a.get(`${q}.id`)), name: text(a.get(`${q}.function.name`)), arguments: argumentsText(a.get(`${q}.function.arguments`)) });
  }
  const toolCallId = a.get(`${p}.message.tool_call_id`);
  const name = a.get(`${p}.message.name`);
  return {
    role: text(role) || 'user',
    content,
    ...(toolCalls.length ? { toolCalls } : {}),
    ...(toolCallId !== undefined ? { toolCallId: text(toolCallId) } : {}),
    ...(name !== undefined ? { name: text(name) } : {}),
  };
}

// ---- 3. older flattened GenAI (gen_ai.prompt.N.*)

function flattenedGenAi(a: Attributes): Found | undefined {
  const input = indexedMessages(a, 'gen_ai.prompt', flatMessage);
  const output = indexedMessages(a, 'gen_ai.completion', flatMessage);
  if (input.length === 0 && output.length === 0) return undefined;
  return { input, output: joinOutputs(output), convention: 'gen_ai.prompt' };
}

function flatMessage(a: Attributes, p: string): RecordedMessage | undefined {
  if (!a.has(`${p}.role`) && !a.has(`${p}.content`)) return undefined;
  const toolCalls: RecordedToolCall[] = [];
  for (let k = 0; a.has(`${p}.tool_calls.${k}.name`); k++) {
    toolCalls.push({ id: text(a.get(`${p}.tool_calls.${k}.id`)), name: text(a.get(`${p}.tool_calls.${k}.name`)), arguments: argumentsText(a.get(`${p}.tool_calls.${k}.arguments`)) });
  }
  const toolCallId = a.get(`${p}.tool_call_id`);
  return {
    role: text(a.get(`${p}.role`)) || 'user',
    content: contentText(jsonishContent(a.get(`${p}.content`))),
    ...(toolCalls.length ? { toolCalls } : {}),
    ...(toolCallId !== undefined ? { toolCallId: text(toolCallId) } : {}),
  };
}

function indexedMessages(a: Attributes, prefix: string, read: (a: Attributes, p: string) => RecordedMessage | undefined): RecordedMessage[] {
  const out: RecordedMessage[] = [];
  for (let i = 0; ; i++) {
    const m = read(a, `${prefix}.${i}`);
    if (!m) break;
    out.push(m);
  }
  return out;
}

// ---- 4. GenAI events (span events or log records)

const EVENT_ROLES: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
};

function genAiEvents(events: readonly SpanEvent[]): Found | undefined {
  const input: RecordedMessage[] = [];
  const output: RecordedMessage[] = [];
  for (const e of events) {
    const body = eventBody(e.attributes);
    if (e.name in EVENT_ROLES) {
      input.push(eventMessage(body, text(body.role) || EVENT_ROLES[e.name]));
    } else if (e.name === 'gen_ai.choice') {
      const message = isObject(body.message) ? body.message : body;
      output.push(eventMessage(message, 'assistant'));
    } else if (e.name === 'gen_ai.content.prompt') {
      for (const m of asList(jsonish(e.attributes.get('gen_ai.prompt')))) input.push(eventMessage(m, 'user'));
    } else if (e.name === 'gen_ai.content.completion') {
      for (const m of asList(jsonish(e.attributes.get('gen_ai.completion')))) output.push(eventMessage(m, 'assistant'));
    }
  }
  if (input.length === 0 && output.length === 0) return undefined;
  return { input, output: joinOutputs(output), convention: 'gen_ai events' };
}

/** The event's body (log records), or its content attribute parsed (span events of the same conventions). */
function eventBody(a: Attributes): Record<string, unknown> {
  const body = a.get('body');
  if (isObject(body)) return body;
  const content = jsonish(a.get('gen_ai.event.content'));
  if (isObject(content)) return content;
  if (typeof body === 'string') return { content: body };
  return Object.fromEntries([...a.entries()].filter(([k]) => !k.includes('.')));
}

function eventMessage(value: unknown, role: string): RecordedMessage {
  const m = isObject(value) ? value : { content: value };
  const toolCalls = asList(m.tool_calls)
    .filter(isObject)
    .map((c) => {
      const fn = isObject(c.function) ? c.function : c;
      return { id: text(c.id), name: text(fn.name), arguments: argumentsText(fn.arguments) };
    });
  const id = m.id ?? m.tool_call_id;
  return {
    role: text(m.role) || role,
    content: contentText(m.content),
    ...(toolCalls.length ? { toolCalls } : {}),
    ...(role === 'tool' && id !== undefined ? { toolCallId: text(id) } : {}),
  };
}

// ---- helpers

/** Several output messages (choices) as one reply: the first choice (n > 1 is sampling, not one answer). */
function joinOutputs(messages: RecordedMessage[]): { content: string; toolCalls: RecordedToolCall[] } {
  const first = messages.find((m) => m.role === 'assistant') ?? messages[0];
  return { content: first?.content ?? '', toolCalls: first?.toolCalls ?? [] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A JSON string parsed (attributes often carry JSON text); other values as they are. */
function jsonish(v: AttributeValue | undefined): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('[') || t.startsWith('{'))) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

/** Flattened content may be a JSON list of parts; plain text stays. */
function jsonishContent(v: AttributeValue | undefined): unknown {
  const parsed = jsonish(v);
  return Array.isArray(parsed) && parsed.every((p) => isObject(p) && ('text' in p || 'type' in p)) ? parsed : v;
}

/** Message content: a string, or OpenAI-style parts ([{type: 'text', text}]) joined. */
function contentText(v: unknown): string {
  if (Array.isArray(v)) return v.map((p) => (isObject(p) ? text(p.text ?? p.content) : text(p))).join('');
  return text(v);
}

function argumentsText(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
}
