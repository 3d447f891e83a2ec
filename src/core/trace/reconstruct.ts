/**
 * From recorded spans to the agent calls of a run (docs/import-traces.md has the rules for users):
 *
 * - Each LLM span is one call. Its agent is, in this order: the mapping file's entry for the span id, for the name of
 *   the enclosing agent, or for the span's name; the nearest enclosing agent span (`gen_ai.agent.name`, `agent.name`,
 *   or its span name without `invoke_agent `); the LLM span's own agent attribute; else one agent per distinct system
 *   prompt (`agent_1`, `agent_2`, ... in order of appearance), since a prompt is what an agent is.
 * - The call's system message is the agent's prompt. The other input messages become `renderedInput` (one user
 *   message verbatim; several, each under a `[role]` header), split into blocks by provenance:
 *     a passage that equals, after whitespace normalisation, the whole output of an earlier call of the same trace is a
 *     block from that call's agent (the longest outputs are matched first, then the latest call);
 *     a tool message is a tool block of the call that asked for it;
 *     the agent's own earlier replies (assistant messages equal to its earlier outputs) are structure, not input;
 *     the rest of a user message is a task block (`task.user`), of an assistant message `task.history`.
 *   The edges of the agent graph are these provenance links. A paraphrased hand-off is not found: the mapping's
 *   `links` (`{from, to}`) say that the task text of `to`'s calls came from `from`'s latest earlier call.
 * - Calls are ordered by start time; the trace's output is its last call that answered in text.
 */
import type { AgentCall, InputBlock, ToolCallRecord } from '../engine/types';
import { llmExchange, type LlmExchange, type RecordedMessage } from './messages';
import { compareNanos } from './readTrace';
import { TraceError, type TraceSpan } from './types';
import type { TraceMapping } from './mapping';

export interface ImportedTrace {
  traceId: string;
  /** The run's sample id for this trace (the trace id). */
  sampleId: string;
  calls: AgentCall[];
  /** The agent whose last text answer is the trace's output (the loss judges it). */
  outputAgent: string;
  outputCallId: string;
}

export interface Reconstruction {
  traces: ImportedTrace[];
  /** Agent name -> its distinct system prompts, in order of appearance. */
  prompts: Map<string, string[]>;
  /** Not fatal, worth saying (a missing parent, a trace without LLM calls, ...). */
  warnings: string[];
}

/** Shorter outputs are not matched as hand-offs unless they are a whole message (too likely to recur by chance). */
const MIN_PASSAGE_CHARS = 16;

export function reconstruct(spans: readonly TraceSpan[], file: string, mapping: TraceMapping = { agents: {}, links: [] }): Reconstruction {
  const warnings: string[] = [];
  const byTrace = new Map<string, TraceSpan[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId) ?? [];
    list.push(span);
    byTrace.set(span.traceId, list);
  }
  const namer = new AgentNamer(mapping);
  const noContent: TraceSpan[] = [];
  const prepared: Array<{ traceId: string; llm: Array<{ span: TraceSpan; exchange: LlmExchange; agent: string }>; tools: TraceSpan[] }> = [];

  for (const [traceId, traceSpans] of byTrace) {
    const byId = indexSpans(traceSpans, traceId);
    checkParents(byId, traceId, warnings);
    const llmSpans = traceSpans.filter((s) => s.role === 'llm').sort(byStart);
    if (llmSpans.length === 0) {
      warnings.push(`trace ${traceId}: no LLM call spans (${traceSpans.length} spans): skipped`);
      continue;
    }
    const llm: Array<{ span: TraceSpan; exchange: LlmExchange; agent: string }> = [];
    for (const span of llmSpans) {
      const exchange = llmExchange(span);
      if (!exchange || (exchange.input.length === 0 && !exchange.output.content && exchange.output.toolCalls.length === 0)) {
        noContent.push(span);
        continue;
      }
      llm.push({ span, exchange, agent: namer.agentOf(span, byId, exchange) });
    }
    prepared.push({ traceId, llm, tools: traceSpans.filter((s) => s.role === 'tool') });
  }

  if (noContent.length) {
    const named = noContent.slice(0, 5).map((s) => `span ${s.spanId} "${s.name}" (${s.where})`).join(', ');
    throw new TraceError(
      `${file}: ${noContent.length} LLM call span(s) record no message content, e.g. ${named}. The instrumentation ran with content capture off; ` +
        'turn it on and record again: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true (OpenTelemetry GenAI instrumentations), ' +
        'OPENINFERENCE_HIDE_INPUTS and OPENINFERENCE_HIDE_OUTPUTS unset or false (OpenInference), TRACELOOP_TRACE_CONTENT=true (OpenLLMetry)',
    );
  }
  if (prepared.length === 0) {
    throw new TraceError(`${file}: no LLM call spans found in ${spans.length} span(s): nothing to import (is this the export of an LLM program?)`);
  }

  const traces = prepared.map(({ traceId, llm, tools }) => buildTrace(traceId, llm, tools, mapping));
  const prompts = new Map<string, string[]>();
  for (const t of traces) {
    for (const c of t.calls) {
      const prompt = c.messages.find((m) => m.role === 'system')?.content ?? '';
      const list = prompts.get(c.agent) ?? [];
      if (!list.includes(prompt)) list.push(prompt);
      prompts.set(c.agent, list);
    }
  }
  return { traces, prompts, warnings };
}

// ---- the span tree

/** Spans by id; a span exported twice alike is read once, two different spans with one id are an error naming both. */
function indexSpans(spans: TraceSpan[], traceId: string): Map<string, TraceSpan> {
  const byId = new Map<string, TraceSpan>();
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    const seen = byId.get(span.spanId);
    if (!seen) {
      byId.set(span.spanId, span);
      continue;
    }
    const same = seen.name === span.name && seen.startTimeUnixNano === span.startTimeUnixNano && seen.endTimeUnixNano === span.endTimeUnixNano;
    if (!same) {
      throw new TraceError(`trace ${traceId}: duplicate span id ${span.spanId}: "${seen.name}" (${seen.where}) and "${span.name}" (${span.where})`);
    }
    spans.splice(i--, 1); // the same span exported twice (an exporter retry)
  }
  return byId;
}

function checkParents(byId: Map<string, TraceSpan>, traceId: string, warnings: string[]): void {
  for (const span of byId.values()) {
    if (span.parentSpanId && !byId.has(span.parentSpanId)) {
      warnings.push(`trace ${traceId}: span ${span.spanId} "${span.name}" (${span.where}) has parent ${span.parentSpanId}, which is not in the export: read as a root`);
    }
    // A cycle: walking up from the span comes back to it.
    const seen = new Set<string>([span.spanId]);
    for (let p = span.parentSpanId; p && byId.has(p); p = byId.get(p)!.parentSpanId) {
      if (seen.has(p)) {
        const cycle = [...seen].map((id) => `${id} "${byId.get(id)!.name}"`).join(' -> ');
        throw new TraceError(`trace ${traceId}: span parents form a cycle: ${cycle} -> ${p} (${byId.get(p)!.where})`);
      }
      seen.add(p);
    }
  }
}

const byStart = (a: TraceSpan, b: TraceSpan) =>
  compareNanos(a.startTimeUnixNano, b.startTimeUnixNano) || compareNanos(a.endTimeUnixNano, b.endTimeUnixNano) || a.spanId.localeCompare(b.spanId);

// ---- agents

/** A name usable in agentchord.yaml: letters, digits, _ and -, not starting with a digit. */
export function agentNameOf(raw: string): string {
  const name = raw
    .trim()
    .replace(/^invoke_agent\s+/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return !name ? 'agent' : /^[A-Za-z_]/.test(name) ? name : `a_${name}`;
}

class AgentNamer {
  private readonly byPrompt = new Map<string, string>();

  constructor(private readonly mapping: TraceMapping) {}

  agentOf(span: TraceSpan, byId: Map<string, TraceSpan>, exchange: LlmExchange): string {
    const mapped = (key: string | undefined) => (key !== undefined ? this.mapping.agents[key] : undefined);
    const enclosing = enclosingAgent(span, byId);
    const enclosingName = enclosing ? rawAgentName(enclosing) : undefined;
    const own = attributeName(span);
    const chosen =
      mapped(span.spanId) ?? mapped(enclosingName) ?? mapped(own) ?? mapped(span.name) ?? enclosingName ?? own ?? this.byPromptName(exchange);
    // A name found in the trace (or given to a prompt, agent_1) may itself be renamed by the mapping.
    return agentNameOf(mapped(chosen) ?? chosen);
  }

  private byPromptName(exchange: LlmExchange): string {
    const prompt = exchange.input.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    let name = this.byPrompt.get(prompt);
    if (!name) {
      name = handedOffTo(exchange) ?? `agent_${this.byPrompt.size + 1}`;
      this.byPrompt.set(prompt, name);
    }
    return name;
  }
}

/**
 * The agent a hand-off tool call named, when this call's input holds one (the OpenAI Agents SDK names its hand-off
 * tools `transfer_to_<agent name>`): the agent that took over is the one now speaking.
 */
function handedOffTo(exchange: LlmExchange): string | undefined {
  const calls = exchange.input.flatMap((m) => m.toolCalls ?? []).filter((t) => /^transfer_to_./.test(t.name));
  const last = calls[calls.length - 1];
  return last ? last.name.slice('transfer_to_'.length) : undefined;
}

function enclosingAgent(span: TraceSpan, byId: Map<string, TraceSpan>): TraceSpan | undefined {
  const seen = new Set<string>();
  for (let p = span.parentSpanId; p && !seen.has(p); p = byId.get(p)?.parentSpanId) {
    seen.add(p);
    const parent = byId.get(p);
    if (!parent) return undefined;
    if (parent.role === 'agent') return parent;
  }
  return undefined;
}

function attributeName(span: TraceSpan): string | undefined {
  const v = span.attributes.get('gen_ai.agent.name') ?? span.attributes.get('agent.name');
  return typeof v === 'string' && v.trim() ? v : undefined;
}

function rawAgentName(span: TraceSpan): string {
  return attributeName(span) ?? span.name.replace(/^invoke_agent\s+/, '');
}

// ---- calls and blocks

interface Earlier {
  call: AgentCall;
  /** The output, trimmed and whitespace-collapsed (what a passage must equal). */
  normalized: string;
}

function buildTrace(
  traceId: string,
  llm: Array<{ span: TraceSpan; exchange: LlmExchange; agent: string }>,
  tools: TraceSpan[],
  mapping: TraceMapping,
): ImportedTrace {
  const sampleId = traceId;
  const steps = new Map<string, number>();
  const calls: AgentCall[] = [];
  const earlier: Earlier[] = [];
  /** Tool call id -> the call that asked for it. */
  const askedBy = new Map<string, AgentCall>();

  for (const { span, exchange, agent } of llm) {
    const step = steps.get(agent) ?? 0;
    steps.set(agent, step + 1);
    const id = `${sampleId}/t0/${agent}/s${step}`;
    const system = exchange.input.filter((m) => m.role === 'system');
    const rest = exchange.input.filter((m) => m.role !== 'system');
    const { text, blocks } = renderInput(rest, agent, earlier, askedBy);
    applyLinks(blocks, agent, calls, mapping);
    const toolCalls: ToolCallRecord[] = exchange.output.toolCalls.map((t) => ({ id: t.id, name: t.name, arguments: t.arguments, result: '' }));
    const call: AgentCall = {
      id,
      runId: '',
      sampleId,
      turn: 0,
      agent,
      step,
      model: exchange.model,
      promptFile: '',
      messages: [
        ...(system.length ? [{ role: 'system', content: system.map((m) => m.content).join('\n\n') }] : []),
        ...rest.map((m) => ({
          role: m.role,
          content: m.content,
          ...(m.toolCalls?.length ? { toolCalls: m.toolCalls } : {}),
          ...(m.toolCallId !== undefined ? { toolCallId: m.toolCallId } : {}),
        })),
      ],
      renderedInput: text,
      blocks,
      output: exchange.output.content,
      toolCalls,
      usage: usageOf(span),
      cached: false,
      startedAt: nanosToIso(span.startTimeUnixNano),
      durationMs: Number((BigInt(digits(span.endTimeUnixNano)) - BigInt(digits(span.startTimeUnixNano))) / 1_000_000n),
      source: { traceId, spanId: span.spanId, spanName: span.name, convention: exchange.convention },
    };
    for (const t of toolCalls) if (t.id) askedBy.set(t.id, call);
    calls.push(call);
    const normalized = collapse(call.output);
    if (normalized) earlier.push({ call, normalized });
  }
  fillToolResults(calls, tools);

  const answered = [...calls].reverse().find((c) => c.output.trim() && c.toolCalls.length === 0) ?? calls[calls.length - 1];
  return { traceId, sampleId, calls, outputAgent: answered.agent, outputCallId: answered.id };
}

/** The input messages as one text with its blocks (see the header for the rules). */
function renderInput(
  messages: RecordedMessage[],
  agent: string,
  earlier: Earlier[],
  askedBy: Map<string, AgentCall>,
): { text: string; blocks: InputBlock[] } {
  const single = messages.length === 1 && messages[0].role === 'user';
  let text = '';
  const blocks: InputBlock[] = [];
  const taken = new Set<string>();
  const add = (block: Omit<InputBlock, 'id'> & { id: string }) => {
    let id = block.id;
    for (let n = 2; taken.has(id); n++) id = `${block.id}#${n}`;
    taken.add(id);
    blocks.push({ ...block, id });
  };

  messages.forEach((m, k) => {
    if (!single) {
      if (k > 0) text += '\n\n';
      text += header(m) + '\n';
    }
    const start = text.length;
    text += m.content;
    if (!single && m.toolCalls?.length) text += (m.content ? '\n' : '') + m.toolCalls.map((t) => `-> ${t.name}(${t.arguments})`).join('\n');

    if (m.role === 'tool') {
      const asker = m.toolCallId ? askedBy.get(m.toolCallId) : undefined;
      const toolName = m.name || asker?.toolCalls.find((t) => t.id === m.toolCallId)?.name || 'tool';
      if (asker && m.toolCallId) {
        add({ id: `tool:${m.toolCallId}`, label: `tool:${toolName} ${m.toolCallId}`, source: { kind: 'tool', tool: toolName, toolCallId: m.toolCallId, callId: asker.id }, charStart: start, charEnd: start + m.content.length });
      } else if (m.content.trim()) {
        add({ id: `task.tool`, label: `task.tool (${toolName})`, source: { kind: 'task', field: 'tool' }, charStart: start, charEnd: start + m.content.length });
      }
      return;
    }
    const own = m.role === 'assistant' && earlier.some((e) => e.call.agent === agent && e.normalized === collapse(m.content));
    if (own) return; // the agent's own earlier step: linked by structure (tool results), not an input
    for (const part of splitByProvenance(m.content, earlier)) {
      const charStart = start + part.start;
      const charEnd = start + part.end;
      if (part.from) {
        add({ id: `agent:${part.from.agent}`, label: `agent:${part.from.agent}`, source: { kind: 'agent', agent: part.from.agent, callId: part.from.id }, charStart, charEnd });
      } else {
        const field = m.role === 'assistant' ? 'history' : 'user';
        add({ id: `task.${field}`, label: `task.${field}`, source: { kind: 'task', field }, charStart, charEnd });
      }
    }
  });
  return { text, blocks };
}

function header(m: RecordedMessage): string {
  if (m.role === 'tool') return `[tool${m.name ? ` ${m.name}` : ''} result${m.toolCallId ? ` ${m.toolCallId}` : ''}]`;
  return `[${m.role}]`;
}

interface Part {
  start: number;
  end: number;
  from?: AgentCall;
}

/**
 * `content` cut into passages equal (after whitespace normalisation) to an earlier call's whole output, and the text
 * between them (trimmed; blank stretches dropped). Longest outputs first, then the latest call; no overlaps.
 */
export function splitByProvenance(content: string, earlier: readonly Earlier[]): Part[] {
  const { normalized, offsets } = collapseWithOffsets(content);
  const claimed: Array<{ from: number; to: number; call: AgentCall }> = [];
  const candidates = earlier
    .map((e, order) => ({ e, order }))
    .filter(({ e }) => e.normalized.length >= MIN_PASSAGE_CHARS || e.normalized === normalized)
    .sort((a, b) => b.e.normalized.length - a.e.normalized.length || b.order - a.order);
  for (const { e } of candidates) {
    for (let at = normalized.indexOf(e.normalized); at >= 0; at = normalized.indexOf(e.normalized, at + 1)) {
      const to = at + e.normalized.length;
      if (!atWordEdges(normalized, at, to)) continue;
      if (claimed.some((c) => at < c.to && to > c.from)) continue;
      claimed.push({ from: at, to, call: e.call });
    }
  }
  claimed.sort((a, b) => a.from - b.from);
  const parts: Part[] = [];
  let cursor = 0;
  const gap = (from: number, to: number) => {
    const slice = content.slice(from, to);
    const lead = slice.length - slice.trimStart().length;
    const trail = slice.length - slice.trimEnd().length;
    if (slice.trim()) parts.push({ start: from + lead, end: to - trail });
  };
  for (const c of claimed) {
    const start = offsets[c.from];
    const end = offsets[c.to - 1] + 1;
    gap(cursor, start);
    parts.push({ start, end, from: c.call });
    cursor = end;
  }
  gap(cursor, content.length);
  return parts;
}

/** A passage must not start or end inside a word ("Paris" is not found in "Parisian"). */
function atWordEdges(text: string, from: number, to: number): boolean {
  const word = /[\p{L}\p{N}]/u;
  return !(from > 0 && word.test(text[from - 1]) && word.test(text[from])) && !(to < text.length && word.test(text[to - 1]) && word.test(text[to]));
}

/** Trimmed, whitespace runs as one space. */
export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** collapse(), with the offset in `text` of every character of the result. */
function collapseWithOffsets(text: string): { normalized: string; offsets: number[] } {
  let normalized = '';
  const offsets: number[] = [];
  let pendingSpace = -1;
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i])) {
      if (normalized.length > 0 && pendingSpace < 0) pendingSpace = i;
      continue;
    }
    if (pendingSpace >= 0) {
      normalized += ' ';
      offsets.push(pendingSpace);
      pendingSpace = -1;
    }
    normalized += text[i];
    offsets.push(i);
  }
  return { normalized, offsets };
}

/** Mapping `links`: the task text of a `to` call came from the latest earlier call of `from` (a paraphrased hand-off). */
function applyLinks(blocks: InputBlock[], agent: string, calls: readonly AgentCall[], mapping: TraceMapping): void {
  for (const link of mapping.links) {
    if (agentNameOf(link.to) !== agent) continue;
    const from = [...calls].reverse().find((c) => c.agent === agentNameOf(link.from));
    if (!from) continue;
    for (const block of blocks) {
      if (block.source.kind === 'task' && block.source.field === 'user') {
        block.source = { kind: 'agent', agent: from.agent, callId: from.id };
        block.label = `agent:${from.agent}`;
        block.id = uniqueId(blocks, `agent:${from.agent}`);
      }
    }
  }
}

function uniqueId(blocks: InputBlock[], base: string): string {
  let id = base;
  for (let n = 2; blocks.some((b) => b.id === id); n++) id = `${base}#${n}`;
  return id;
}

/** A tool call's result: from the tool message that answered it, else from its execute_tool span. */
function fillToolResults(calls: AgentCall[], tools: TraceSpan[]): void {
  const results = new Map<string, string>();
  for (const c of calls) for (const m of c.messages) if (m.role === 'tool' && m.toolCallId) results.set(m.toolCallId, m.content);
  for (const t of tools) {
    const id = t.attributes.get('gen_ai.tool.call.id') ?? t.attributes.get('tool_call.id');
    const result = t.attributes.get('gen_ai.tool.call.result') ?? t.attributes.get('output.value');
    if (typeof id === 'string' && result !== undefined && !results.has(id)) results.set(id, typeof result === 'string' ? result : JSON.stringify(result));
  }
  for (const c of calls) for (const t of c.toolCalls) t.result = results.get(t.id) ?? '';
}

function usageOf(span: TraceSpan): AgentCall['usage'] {
  const n = (...keys: string[]) => {
    for (const k of keys) {
      const v = span.attributes.get(k);
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    }
    return 0;
  };
  return {
    promptTokens: n('gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt'),
    completionTokens: n('gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion'),
    costUsd: 0,
  };
}

const digits = (ns: string) => (/^\d+$/.test(ns) ? ns : '0');

function nanosToIso(ns: string): string {
  const ms = Number(BigInt(digits(ns)) / 1_000_000n);
  return new Date(ms).toISOString();
}
