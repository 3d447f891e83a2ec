/**
 * Checks the shape of attribution requests (the JSON of `agentchord attribute --request` and of the backend's
 * attribute/attributeBatch requests) before any model work, so that a mistake is reported with the JSON path of the
 * field at fault instead of surfacing as a tensor-shape error deep in ONNX Runtime.
 */
import type { AttributionRequest } from '../protocol/attribution';

export interface RequestProblem {
  /** JSON path, e.g. `request[1].spans[0].start`. */
  path: string;
  message: string;
}

export interface RequestLimits {
  /** Ids must be < vocabSize (known once the model is loaded). */
  vocabSize?: number;
  /** Sequence length limit of the model. */
  maxPositions?: number;
}

export function formatProblem(problem: RequestProblem): string {
  return `${problem.path}: ${problem.message}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value for a message, abbreviated: a hostile request's 5 MB string or 100k-deep array is not echoed back. */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? 'a nested array too deep to print' : `a ${typeof v}`; // e.g. RangeError on deep nesting
  }
  return text.length > 200 ? `${text.slice(0, 120)}... (${text.length} characters)` : text;
}

/** At most this many problems are listed; the rest are counted (a million bad ids are one mistake, not a million). */
const MAX_LISTED_PROBLEMS = 20;

/** The problems as lines for a message: the first MAX_LISTED_PROBLEMS, then how many more there are. */
export function formatProblems(problems: RequestProblem[]): string[] {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map(formatProblem);
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`... and ${problems.length - MAX_LISTED_PROBLEMS} more problems`);
  return lines;
}

/** Problems of one request; empty when it is valid. `path` is the JSON path of the request itself. */
export function validateAttributionRequest(json: unknown, vocabSize?: number, options: { maxPositions?: number; path?: string } = {}): RequestProblem[] {
  const path = options.path ?? 'request';
  const problems: RequestProblem[] = [];
  const add = (field: string, message: string) => problems.push({ path: field ? `${path}.${field}` : path, message });
  if (!isObject(json)) {
    add('', `expected an object {inputIds, prefixLength, targetStart, spans}, got ${describe(json)}`);
    return problems;
  }

  const { inputIds, prefixLength, targetStart, spans } = json;
  let n: number | undefined;
  if (!Array.isArray(inputIds)) {
    add('inputIds', `expected an array of token ids, got ${describe(inputIds)}`);
  } else {
    n = inputIds.length;
    if (n < 2) add('inputIds', `needs at least 2 tokens (a context and a target), got ${n}`);
    if (options.maxPositions !== undefined && n > options.maxPositions) {
      add('inputIds', `${n} tokens exceed the model's context length ${options.maxPositions}`);
    }
    inputIds.forEach((id, i) => {
      if (!Number.isInteger(id) || (id as number) < 0) add(`inputIds[${i}]`, `expected a non-negative integer token id, got ${describe(id)}`);
      else if (vocabSize !== undefined && (id as number) >= vocabSize) add(`inputIds[${i}]`, `${id} is outside the vocabulary (size ${vocabSize})`);
    });
  }

  const p = checkInteger(prefixLength, 'prefixLength', add);
  const t = checkInteger(targetStart, 'targetStart', add);
  if (p !== undefined && n !== undefined && p >= n) add('prefixLength', `${p} leaves no tail (inputIds has ${n} tokens)`);
  if (t !== undefined && p !== undefined && t <= p) {
    add('targetStart', `${t} must be greater than prefixLength ${p} (the first target is predicted from the tail)`);
  }
  if (t !== undefined && n !== undefined && t >= n) add('targetStart', `${t} leaves no target (inputIds has ${n} tokens)`);

  if (!Array.isArray(spans)) {
    add('spans', `expected an array of {id, start, end}, got ${describe(spans)}`);
  } else {
    const seen = new Map<string, number>();
    spans.forEach((span, k) => {
      const at = `spans[${k}]`;
      if (!isObject(span)) {
        add(at, `expected an object {id, start, end}, got ${describe(span)}`);
        return;
      }
      if (typeof span.id !== 'string' || span.id === '') add(`${at}.id`, `expected a non-empty string, got ${describe(span.id)}`);
      else if (seen.has(span.id)) add(`${at}.id`, `duplicate span id '${span.id}' (also spans[${seen.get(span.id)}])`);
      else seen.set(span.id, k);
      const start = checkInteger(span.start, `${at}.start`, add);
      const end = checkInteger(span.end, `${at}.end`, add);
      if (start !== undefined && p !== undefined && start < p) add(`${at}.start`, `${start} is inside the prefix (prefixLength ${p})`);
      if (start !== undefined && end !== undefined && end <= start) add(`${at}.end`, `${end} must be greater than start ${start} (spans are half-open [start, end))`);
      if (end !== undefined && n !== undefined && end > n) add(`${at}.end`, `${end} is past the end of inputIds (${n} tokens)`);
    });
  }
  return problems;
}

function checkInteger(value: unknown, field: string, add: (field: string, message: string) => void): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  add(field, `expected a non-negative integer, got ${describe(value)}`);
  return undefined;
}

/**
 * The `--request` file: one request or an array of them. Paths are `request` or `request[i]`.
 * Returns the requests only when there are no problems.
 */
export function parseAttributionRequests(
  json: unknown,
  limits: RequestLimits = {},
): { requests: AttributionRequest[]; isArray: boolean; problems: RequestProblem[] } {
  const isArray = Array.isArray(json);
  const items: unknown[] = isArray ? (json as unknown[]) : [json];
  const problems: RequestProblem[] = [];
  if (isArray && items.length === 0) problems.push({ path: 'request', message: 'the array of requests is empty' });
  items.forEach((item, i) => {
    // A loop, not push(...): a long request with bad ids has a problem per token, too many to pass as arguments.
    for (const problem of validateAttributionRequest(item, limits.vocabSize, { maxPositions: limits.maxPositions, path: isArray ? `request[${i}]` : 'request' })) problems.push(problem);
  });
  return { requests: problems.length ? [] : (items as AttributionRequest[]), isArray, problems };
}
