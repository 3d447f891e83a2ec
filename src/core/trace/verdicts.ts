/**
 * Verdicts on traces (`--loss <file>`): JSON Lines or a JSON array of `{"traceId": "...", "loss": "what went
 * wrong", "score": 0.0}` — what an evaluation the user already has said about each recorded run. `loss` may be
 * empty for a trace that went right (score 1). Errors name the file, line and field.
 */
import { readFileSync } from 'node:fs';
import { TraceError } from './types';

export interface TraceVerdict {
  score: number;
  loss: string;
}

/**
 * The records of a per-trace file: a JSON array, or one JSON value per line. Each comes with where it stands
 * (`file:line`, or `file: entry i`) for error messages; `what` names the file's role in a read error.
 */
export function readTraceRecords(file: string, what: string): Array<{ value: unknown; where: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TraceError(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const entries: Array<{ value: unknown; where: string }> = [];
  if (text.trimStart().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (err) {
      throw new TraceError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    (list as unknown[]).forEach((value, i) => entries.push({ value, where: `${file}: entry ${i}` }));
  } else {
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        entries.push({ value: JSON.parse(line), where: `${file}:${i + 1}` });
      } catch (err) {
        throw new TraceError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
      }
    });
  }
  return entries;
}

export function readVerdicts(file: string): Map<string, TraceVerdict> {
  const entries = readTraceRecords(file, 'verdicts');
  const verdicts = new Map<string, TraceVerdict>();
  for (const { value, where } of entries) {
    const v = value as Record<string, unknown> | null;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new TraceError(`${where}: expected {"traceId", "loss", "score"}`);
    const traceId = v.traceId ?? v.trace_id;
    if (typeof traceId !== 'string' || !traceId) throw new TraceError(`${where}: "traceId" must be the trace id (a string)`);
    if (typeof v.score !== 'number' || !Number.isFinite(v.score) || v.score < 0 || v.score > 1) throw new TraceError(`${where}: "score" must be a number from 0 to 1`);
    const loss = v.loss ?? '';
    if (typeof loss !== 'string') throw new TraceError(`${where}: "loss" must be a text`);
    if (verdicts.has(traceId.toLowerCase())) throw new TraceError(`${where}: trace ${traceId} has a second verdict`);
    verdicts.set(traceId.toLowerCase(), { score: v.score, loss });
  }
  return verdicts;
}
