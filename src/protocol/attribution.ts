/**
 * Attribution data shapes shared by the backend, the engine, the CLI and the extension.
 * These are also the JSON of `agentchord attribute` (see README): keep them stable.
 */

/** A labelled, half-open token range [start, end) of the tail (prefixLength <= start). */
export interface Span {
  id: string;
  start: number;
  end: number;
}

export interface AttributionRequest {
  inputIds: number[];
  /** Positions [0, prefixLength) run once without gradients (the prefix trick). */
  prefixLength: number;
  /** Targets are positions [targetStart, n): S = sum_{i >= targetStart} log p(ids[i] | ids[<i]). */
  targetStart: number;
  spans: Span[];
}

export interface TokenSaliency {
  /** L1 = sum_d |dS/de_{i,d}| */
  l1: number;
  /** g.e = sum_d dS/de_{i,d} * e_{i,d} */
  gradInput: number;
}

export interface SpanConnection {
  meanL1: number;
  maxL1: number;
  meanGradInput: number;
  maxGradInput: number;
}

export interface AttributionResult {
  logProb: number;
  /** One per tail position [prefixLength, n). */
  tokens: TokenSaliency[];
  connections: Record<string, SpanConnection>;
}

export type Device = 'cpu' | 'cuda' | 'webgpu';
export type DeviceChoice = 'auto' | Device;

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  stop: string[];
  seed?: number;
}

export interface GenerateResult {
  ids: number[];
  text: string;
  finishReason: 'stop' | 'length' | 'eos' | 'cancelled';
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}
