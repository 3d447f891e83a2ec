import type { Problem } from '../system/types';
import type { PromptProblem } from './types';

/** The prompt problems as the project-wide `Problem`s, naming the prompt file at fault. */
export function promptProblemsForFile(file: string, problems: PromptProblem[]): Problem[] {
  return problems.map((p) => ({
    file,
    line: p.range.line,
    column: p.range.column,
    endLine: p.range.endLine,
    endColumn: p.range.endColumn,
    message: p.message,
    severity: p.severity,
  }));
}
