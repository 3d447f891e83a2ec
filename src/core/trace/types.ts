/**
 * Recorded traces, as the importer reads them: spans of OpenTelemetry exports (OTLP/JSON) or of OpenInference span
 * exports, with their attributes flattened and their events (span events and GenAI log records) attached. Only what
 * reconstruction needs is kept, so a large export costs memory in proportion to its LLM content, not to its size.
 */

/** A decoded attribute value (OTLP AnyValue): scalars, lists, and key-value lists as objects. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/**
 * Attributes by key. Nested values (lists, key-value lists, nested objects of an OpenInference export) are present
 * both as they are and flattened with dotted keys and list indices (`llm.input_messages.0.message.role`), so every
 * convention reads them the same way.
 */
export type Attributes = Map<string, AttributeValue>;

export interface SpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Attributes;
}

/** What a span is for reconstruction. */
export type SpanRole = 'llm' | 'agent' | 'tool' | 'other';

export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Nanoseconds since the epoch, as a decimal string (64-bit values do not fit a double). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  role: SpanRole;
  /** Empty for spans of role 'other' (only their place in the tree matters). */
  attributes: Attributes;
  events: SpanEvent[];
  /** Where it was read: `<file>:<line>`. */
  where: string;
}

/** Bad input in a trace file: the message names the file and the line or span at fault. */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export type TraceFormat = 'otlp-json' | 'openinference';
