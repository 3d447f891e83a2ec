/**
 * Attribution requests: validation, and the per-span reduction of per-token saliency (the GBC connection weights).
 */
import type { AttributionRequest, SpanConnection, TokenSaliency } from '../../protocol/attribution';

/** Bad attribution input; the message names the field at fault. */
export class AttributionRequestError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'AttributionRequestError';
  }
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Throws AttributionRequestError naming the first bad field. */
export function validateAttributionRequest(request: AttributionRequest, vocabSize: number, maxPositions: number): void {
  const { inputIds, prefixLength, targetStart, spans } = request;
  if (!Array.isArray(inputIds) || inputIds.length === 0) throw new AttributionRequestError('inputIds must be a non-empty array of token ids');
  const n = inputIds.length;
  if (n > maxPositions) throw new AttributionRequestError(`inputIds has ${n} tokens, more than the model's ${maxPositions} positions`);
  inputIds.forEach((id, k) => {
    if (!isIndex(id) || id < 0 || id >= vocabSize) throw new AttributionRequestError(`inputIds[${k}] = ${id} is not a token id of this model (0..${vocabSize - 1})`);
  });
  if (!isIndex(prefixLength) || prefixLength < 0 || prefixLength >= n)
    throw new AttributionRequestError(`prefixLength = ${prefixLength} must be an integer in [0, ${n - 1}] (the tail must not be empty)`);
  const minTarget = Math.max(prefixLength, 1);
  if (!isIndex(targetStart) || targetStart < minTarget || targetStart >= n)
    throw new AttributionRequestError(`targetStart = ${targetStart} must be an integer in [${minTarget}, ${n - 1}] (max(prefixLength, 1) .. last token)`);
  if (!Array.isArray(spans)) throw new AttributionRequestError('spans must be an array');
  const seen = new Set<string>();
  spans.forEach((span, k) => {
    if (typeof span?.id !== 'string') throw new AttributionRequestError(`spans[${k}].id must be a string`);
    if (seen.has(span.id)) throw new AttributionRequestError(`spans[${k}].id "${span.id}" is used twice`);
    seen.add(span.id);
    if (!isIndex(span.start) || span.start < prefixLength || span.start >= n)
      throw new AttributionRequestError(`spans[${k}].start = ${span.start} must be an integer in [prefixLength = ${prefixLength}, ${n - 1}]`);
    if (!isIndex(span.end) || span.end <= span.start || span.end > n)
      throw new AttributionRequestError(`spans[${k}].end = ${span.end} must be an integer in [${span.start + 1}, ${n}]`);
  });
}

/** Mean and max of L1 and of gradient·input over each span's tokens (tokens[i] is position prefixLength + i). */
export function spanConnections(request: AttributionRequest, tokens: TokenSaliency[]): Record<string, SpanConnection> {
  const out: Record<string, SpanConnection> = {};
  for (const span of request.spans) {
    const slice = tokens.slice(span.start - request.prefixLength, span.end - request.prefixLength);
    const l1 = slice.map((t) => t.l1);
    const gi = slice.map((t) => t.gradInput);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    out[span.id] = { meanL1: mean(l1), maxL1: Math.max(...l1), meanGradInput: mean(gi), maxGradInput: Math.max(...gi) };
  }
  return out;
}

/**
 * Which rows of the tail's hidden states predict which targets. Target position t is predicted by position t-1;
 * when t-1 is the prefix's last position (t == prefixLength) its log-prob comes from the prefix run instead.
 */
export function targetRows(request: AttributionRequest): { rows: number[]; ids: number[]; fromPrefix?: number } {
  const { inputIds, prefixLength: p, targetStart } = request;
  const rows: number[] = [];
  const ids: number[] = [];
  let fromPrefix: number | undefined;
  for (let t = targetStart; t < inputIds.length; t++) {
    if (t - 1 < p) fromPrefix = inputIds[t];
    else {
      rows.push(t - 1 - p);
      ids.push(inputIds[t]);
    }
  }
  return { rows, ids, fromPrefix };
}
