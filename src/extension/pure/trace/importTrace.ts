/**
 * Host-free parts of "AgentChord: Import Trace…": the default destination folder for a trace file and the summary
 * shown once the import is done. The command itself is ../../commands/importTrace.ts.
 */
import { basename, join } from 'node:path';
import type { ImportTraceResult } from '../../../core/trace/importTrace';

/** Where imported traces go by default, under the first workspace folder. */
export const IMPORT_FOLDER = 'traces';

/**
 * The folder name a trace file suggests: its base name without any extension (`genai.otlp.jsonl` → `genai`), with
 * characters other than letters, digits, `-` and `_` replaced (it becomes the system's `name:` and a path segment).
 */
export function traceStem(file: string): string {
  const base = basename(file).replace(/^\.+/, '');
  const stem = base.split('.')[0]!.replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '');
  return stem || 'trace';
}

/**
 * `<parent>/<stem of traceFile>`, or the first of `-2`, `-3`, … that does not exist yet: an import never writes
 * into a folder that is already there (its scaffold would refuse anyway, but the user should not have to pick).
 */
export function defaultImportFolder(parent: string, traceFile: string, exists: (path: string) => boolean): string {
  const stem = traceStem(traceFile);
  let candidate = join(parent, stem);
  for (let n = 2; exists(candidate); n++) candidate = join(parent, `${stem}-${n}`);
  return candidate;
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The success message: traces, calls, agents and hand-offs (agent-to-agent edges), and warnings if any. */
export function importSummary(result: Pick<ImportTraceResult, 'traces' | 'agents' | 'edges' | 'warnings'>, where: string): string {
  const calls = result.traces.reduce((a, t) => a + t.calls, 0);
  const parts = [count(calls, 'call'), count(result.agents.length, 'agent'), count(result.edges.length, 'hand-off')];
  const warnings = result.warnings.length ? ` ${count(result.warnings.length, 'warning')}: see the AgentChord output.` : '';
  return `Imported ${count(result.traces.length, 'trace')} (${parts.join(', ')}) into ${where}.${warnings}`;
}
