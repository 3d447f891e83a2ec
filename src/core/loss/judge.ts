/**
 * An optional LLM judge (builtin `llm_judge`): one chat call with a fixed rubric, replying with JSON
 * `{"score": 0..1, "feedback": "..."}`. The feedback becomes the verbal loss when the score is below 1.
 */
import type { ChatProvider } from '../llm/types';
import { parseJsonObject } from '../llm/parseJson';
import { LossError, type LossInput, type LossResult } from './types';

export const JUDGE_RUBRIC = `You grade the final output of a multi-agent system on one task.
Compare the output with the reference answer (when one is given) and the task.
Reply with a JSON object only: {"score": <number from 0 to 1, 1 = fully correct>, "feedback": "<what is wrong, precisely; empty when correct>"}`;

export async function judgeWithLlm(
  provider: ChatProvider,
  input: LossInput,
  options: { reference?: string; criteria?: string },
  signal?: AbortSignal,
): Promise<LossResult> {
  const task = Object.entries(input.sample.fields)
    .filter(([k]) => k !== options.reference)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
  const reference = options.reference !== undefined ? input.sample.fields[options.reference] : undefined;
  const user = [
    `Task:\n${task}`,
    reference !== undefined ? `Reference answer:\n${typeof reference === 'string' ? reference : JSON.stringify(reference)}` : '',
    options.criteria ? `Criteria:\n${options.criteria}` : '',
    `Output to grade:\n${input.output}`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const response = await provider.complete(
    { messages: [{ role: 'system', content: JUDGE_RUBRIC }, { role: 'user', content: user }], parameters: { temperature: 0 } },
    signal,
  );
  const parsed = parseJsonObject(response.message.content);
  if (!parsed.ok) throw new LossError(`llm_judge on sample ${input.sample.id}: ${parsed.error}`);
  const rawScore = parsed.value.score;
  const score = typeof rawScore === 'number' ? rawScore : typeof rawScore === 'string' ? Number(rawScore) : NaN;
  if (!Number.isFinite(score)) throw new LossError(`llm_judge on sample ${input.sample.id}: the reply has no numeric "score"`);
  const clamped = Math.min(1, Math.max(0, score));
  const feedback = typeof parsed.value.feedback === 'string' ? parsed.value.feedback.trim() : '';
  return {
    metrics: { judge: clamped },
    score: clamped,
    loss: clamped >= 1 ? '' : feedback || `The judge scored the output ${clamped} without saying why.`,
    lossFields: { feedback },
  };
}
