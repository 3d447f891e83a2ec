/**
 * Built-in metrics: exact_match, contains, json_field_match. Each compares the output with a reference field of the
 * sample and says in plain words what is wrong, so it can serve as a verbal loss on its own or fill a template.
 */
import { parseJsonObject } from '../llm/parseJson';
import { LossError, type LossInput, type LossResult } from './types';

export type Normalization = 'none' | 'trim' | 'lower' | 'alnum';
export const NORMALIZATIONS: readonly Normalization[] = ['none', 'trim', 'lower', 'alnum'];
export const BUILTIN_METRICS = ['exact_match', 'contains', 'json_field_match', 'recorded'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

export interface BuiltinOptions {
  /** The sample field holding the expected answer (default `reference`). */
  reference: string;
  /** lower (default): case, surrounding and repeated spaces ignored; alnum: also punctuation; trim; none. */
  normalize: Normalization;
  /** json_field_match: the fields to compare (default: every field of the reference object). */
  fields?: string[];
  /** recorded: the sample field holding {score, loss} (default `verdict`). */
  verdict?: string;
}

/** Reads `options` of a builtin loss; `where` names it in errors (e.g. `agentchord.yaml: loss.options`). */
export function readBuiltinOptions(options: Record<string, unknown>, where: string): BuiltinOptions {
  const reference = options.reference ?? 'reference';
  if (typeof reference !== 'string' || !reference) throw new LossError(`${where}.reference must be a field name (a string)`);
  const normalize = options.normalize ?? 'lower';
  if (typeof normalize !== 'string' || !NORMALIZATIONS.includes(normalize as Normalization)) {
    throw new LossError(`${where}.normalize must be one of ${NORMALIZATIONS.join(', ')}`);
  }
  const fields = options.fields;
  if (fields !== undefined && !(Array.isArray(fields) && fields.every((f) => typeof f === 'string'))) {
    throw new LossError(`${where}.fields must be a list of field names`);
  }
  const verdict = options.verdict;
  if (verdict !== undefined && (typeof verdict !== 'string' || !verdict)) throw new LossError(`${where}.verdict must be a field name (a string)`);
  return { reference, normalize: normalize as Normalization, ...(fields ? { fields: fields as string[] } : {}), ...(verdict ? { verdict } : {}) };
}

export function normalizeText(text: string, mode: Normalization): string {
  switch (mode) {
    case 'none':
      return text;
    case 'trim':
      return text.trim();
    case 'lower':
      return text.toLowerCase().replace(/\s+/g, ' ').trim();
    case 'alnum':
      return text
        .toLowerCase()
        .replace(/[^\p{L}\p{N}]+/gu, ' ')
        .trim();
  }
}

export function runBuiltinMetric(metric: BuiltinMetric, input: LossInput, options: BuiltinOptions): LossResult {
  if (metric === 'recorded') return recordedVerdict(input, options.verdict ?? 'verdict');
  const reference = referenceOf(input, options.reference);
  switch (metric) {
    case 'exact_match':
      return exactMatch(input.output, reference, options);
    case 'contains':
      return contains(input.output, reference, options);
    case 'json_field_match':
      return jsonFieldMatch(input.output, reference, options);
  }
}

/**
 * A verdict recorded with the sample (`{"verdict": {"score": 0.0, "loss": "what went wrong"}}`), e.g. by
 * `agentchord import --scaffold --loss`: the output is not judged again (it was replayed from a trace).
 */
function recordedVerdict(input: LossInput, field: string): LossResult {
  const v = input.sample.fields[field] as { score?: unknown; loss?: unknown } | undefined;
  if (!v || typeof v !== 'object' || typeof v.score !== 'number' || !Number.isFinite(v.score)) {
    throw new LossError(
      `sample ${input.sample.id}: loss "recorded" needs the field "${field}": {"score": <0..1>, "loss": "<what went wrong>"} (add it to the data, or import with --loss <verdicts>)`,
    );
  }
  const loss = typeof v.loss === 'string' ? v.loss : '';
  return { metrics: { recorded: v.score }, score: v.score, loss: v.score >= 1 ? '' : loss || `The recorded verdict scored the output ${v.score}.`, lossFields: { feedback: loss } };
}

function referenceOf(input: LossInput, field: string): unknown {
  if (!Object.hasOwn(input.sample.fields, field)) {
    throw new LossError(`sample ${input.sample.id}: no field "${field}" to compare the output with (set loss.options.reference)`);
  }
  return input.sample.fields[field];
}

const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const excerpt = (text: string, max = 300) => (text.length <= max ? text : text.slice(0, max - 1) + '…');

function exactMatch(output: string, reference: unknown, o: BuiltinOptions): LossResult {
  const expected = asText(reference);
  const ok = normalizeText(output, o.normalize) === normalizeText(expected, o.normalize);
  return {
    metrics: { exact_match: ok ? 1 : 0 },
    score: ok ? 1 : 0,
    loss: ok ? '' : `The final output should have been "${excerpt(expected)}" but was "${excerpt(output)}".`,
    lossFields: { reference: expected, failures: ok ? [] : [`expected "${excerpt(expected)}"`] },
  };
}

/** The reference is a string or a list of strings; the score is the share of them found in the output. */
function contains(output: string, reference: unknown, o: BuiltinOptions): LossResult {
  const wanted = (Array.isArray(reference) ? reference : [reference]).map(asText);
  const haystack = normalizeText(output, o.normalize);
  const missing = wanted.filter((w) => !haystack.includes(normalizeText(w, o.normalize)));
  const score = wanted.length === 0 ? 1 : (wanted.length - missing.length) / wanted.length;
  return {
    metrics: { contains: score },
    score,
    loss:
      missing.length === 0
        ? ''
        : `The final output should mention ${missing.map((m) => `"${excerpt(m, 80)}"`).join(', ')} but does not. Output: "${excerpt(output)}".`,
    lossFields: { reference: wanted, missing, failures: missing.map((m) => `missing "${m}"`) },
  };
}

/** The output is a JSON object (fences and prose tolerated); each chosen field of the reference object must match. */
function jsonFieldMatch(output: string, reference: unknown, o: BuiltinOptions): LossResult {
  if (reference === null || typeof reference !== 'object' || Array.isArray(reference)) {
    throw new LossError(`loss json_field_match: the reference field "${o.reference}" must hold a JSON object`);
  }
  const expected = reference as Record<string, unknown>;
  const fields = o.fields ?? Object.keys(expected);
  const parsed = parseJsonObject(output);
  if (!parsed.ok) {
    return {
      metrics: { json_valid: 0, field_accuracy: 0 },
      score: 0,
      loss: `The final output should be a JSON object with fields ${fields.join(', ')}, but ${parsed.error}. Output: "${excerpt(output)}".`,
      lossFields: { reference: expected, failures: ['output is not JSON'] },
    };
  }
  const failures: string[] = [];
  for (const f of fields) {
    const want = normalizeText(asText(expected[f]), o.normalize);
    const got = Object.hasOwn(parsed.value, f) ? normalizeText(asText(parsed.value[f]), o.normalize) : undefined;
    if (got === undefined) failures.push(`field "${f}" is missing (expected ${JSON.stringify(expected[f])})`);
    else if (got !== want) failures.push(`field "${f}" is ${JSON.stringify(parsed.value[f])}, expected ${JSON.stringify(expected[f])}`);
  }
  const score = fields.length === 0 ? 1 : (fields.length - failures.length) / fields.length;
  return {
    metrics: { json_valid: 1, field_accuracy: score },
    score,
    loss: failures.length === 0 ? '' : `The final output got these fields wrong: ${failures.join('; ')}.`,
    lossFields: { reference: expected, failures },
  };
}
