/**
 * Loss templates: a prompt-style file whose `{{placeholders}}` are filled from the sample's metric results and
 * fields. Its front matter chooses the metric that scores the output:
 *
 *   ---
 *   metric: contains            # exact_match | contains | json_field_match (default: the environment's metrics)
 *   options: { reference: names, normalize: lower }
 *   passScore: 1                # at or above it the sample is correct and the loss is empty (default 1)
 *   ---
 *   The story should mention {{reference}} but {{failures}}. It was: {{output}}
 *
 * Placeholders: {{output}}, {{reference}}, {{score}}, {{failures}}, {{metrics.<name>}}, {{task.<field>}} (or just
 * {{<field>}}), {{lossFields.<name>}}.
 */
import { parsePromptFile, renderPrompt } from '../prompt';
import { BUILTIN_METRICS, readBuiltinOptions, runBuiltinMetric, type BuiltinMetric, type BuiltinOptions } from './builtins';
import { LossError, type LossInput, type LossResult } from './types';

export interface LossTemplate {
  file: string;
  text: string;
  metric?: BuiltinMetric;
  options: BuiltinOptions;
  passScore: number;
}

export function parseLossTemplate(file: string, text: string): LossTemplate {
  const parsed = parsePromptFile(text);
  const error = parsed.problems.find((p) => p.severity === 'error');
  if (error) throw new LossError(`${file}:${error.range.line}:${error.range.column}: ${error.message}`);
  const data = parsed.frontMatter?.data ?? {};
  const metric = data.metric;
  if (metric !== undefined && !(typeof metric === 'string' && (BUILTIN_METRICS as readonly string[]).includes(metric))) {
    throw new LossError(`${file}: front matter "metric" must be one of ${BUILTIN_METRICS.join(', ')}`);
  }
  const rawOptions = data.options ?? {};
  if (typeof rawOptions !== 'object' || rawOptions === null || Array.isArray(rawOptions)) {
    throw new LossError(`${file}: front matter "options" must be a mapping`);
  }
  const passScore = data.passScore ?? 1;
  if (typeof passScore !== 'number') throw new LossError(`${file}: front matter "passScore" must be a number`);
  return {
    file,
    text,
    ...(metric ? { metric: metric as BuiltinMetric } : {}),
    options: readBuiltinOptions(rawOptions as Record<string, unknown>, `${file}: front matter options`),
    passScore,
  };
}

/** Scores with the template's metric (or the environment's) and fills the template when the score falls short. */
export function evaluateTemplate(template: LossTemplate, input: LossInput): LossResult {
  let scored: LossResult;
  if (template.metric) {
    scored = runBuiltinMetric(template.metric, input, template.options);
  } else if (input.environment && Object.keys(input.environment.metrics).length > 0) {
    const metrics = input.environment.metrics;
    const values = Object.values(metrics);
    const score = typeof metrics.score === 'number' ? metrics.score : values.reduce((a, b) => a + b, 0) / values.length;
    scored = { metrics, score, loss: '', lossFields: { ...input.environment.lossFields } };
  } else {
    throw new LossError(
      `${template.file}: nothing scores the output: set "metric:" in the front matter (${BUILTIN_METRICS.join(', ')}) or use an environment that reports metrics`,
    );
  }
  if (scored.score >= template.passScore) return { ...scored, loss: '' };
  const loss = fillLossTemplate(template.text, input, scored).trim();
  return { ...scored, loss };
}

export function fillLossTemplate(text: string, input: LossInput, scored: Omit<LossResult, 'loss'>): string {
  const show = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(', ') : JSON.stringify(v));
  const vars: Record<string, string> = { output: input.output, score: String(Number(scored.score.toFixed(4))) };
  for (const [k, v] of Object.entries(input.sample.fields)) {
    vars[`task.${k}`] = show(v);
    vars[k] ??= show(v);
  }
  for (const [k, v] of Object.entries(scored.metrics)) vars[`metrics.${k}`] = String(v);
  for (const [k, v] of Object.entries(scored.lossFields)) {
    vars[`lossFields.${k}`] = show(v);
    if (k === 'reference' || k === 'failures' || k === 'missing') vars[k] = show(v);
  }
  return renderPrompt(text, vars).text;
}
