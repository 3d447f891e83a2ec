/**
 * Attribution requests: validation, and the per-span reduction of per-token saliency (the GBC connection weights).
 */
import type { AttributionRequest, SpanConnection, TokenSaliency } from '../../protocol/attribution';
import { formatProblem, validateAttributionRequest as checkRequest } from '../../shared/validateRequest';

/** Bad attribution input; the message names the field at fault. */
export class AttributionRequestError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'AttributionRequestError';
  }
}

/**
 * Throws AttributionRequestError naming the first bad field. The rules are the CLI contract's, shared with the server
 * and `agentchord attribute` (src/shared/validateRequest.ts): one validator, so they cannot drift apart.
 */
export function validateAttributionRequest(request: AttributionRequest, vocabSize: number, maxPositions: number): void {
  const [first] = checkRequest(request, vocabSize, { maxPositions });
  if (first) throw new AttributionRequestError(formatProblem(first));
}

/** Mean and max of L1 and of gradient·input over each span's tokens (tokens[i] is position prefixLength + i). */
export function spanConnections(request: AttributionRequest, tokens: TokenSaliency[]): Record<string, SpanConnection> {
  const out: Record<string, SpanConnection> = {};
  for (const span of request.spans) {
    const slice = tokens.slice(span.start - request.prefixLength, span.end - request.prefixLength);
    const l1 = slice.map((t) => t.l1);
    const gi = slice.map((t) => t.gradInput);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    // reduce, not Math.max(...xs): spreading a long span's values overflows the stack.
    const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), -Infinity);
    out[span.id] = { meanL1: mean(l1), maxL1: max(l1), meanGradInput: mean(gi), maxGradInput: max(gi) };
  }
  return out;
}

/**
 * Which rows of the tail's hidden states predict which targets: target position t is predicted by position t-1, which
 * is in the tail because a valid request has targetStart > prefixLength.
 */
export function targetRows(request: AttributionRequest): { rows: number[]; ids: number[] } {
  const { inputIds, prefixLength: p, targetStart } = request;
  const rows: number[] = [];
  const ids: number[] = [];
  for (let t = targetStart; t < inputIds.length; t++) {
    rows.push(t - 1 - p);
    ids.push(inputIds[t]);
  }
  return { rows, ids };
}
