/** Printing and ordering problems the way compilers and editors expect them. */
import { isAbsolute, relative } from 'node:path';
import type { Problem } from './types';

/**
 * `file:line:col: message` (warnings add `warning: ` before the message), the form terminals and editors turn into
 * links. The file is shown relative to the current directory when it lies inside it.
 */
export function formatProblem(p: Problem): string {
  const severity = p.severity === 'warning' ? 'warning: ' : '';
  return `${relativeToCwd(p.file)}:${p.line}:${p.column}: ${severity}${p.message}`;
}

/** A path as the user likes to read it: relative to the current directory when inside it, else absolute. */
export function relativeToCwd(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * By line, then column; problems at the same place keep their order. Exact repeats are dropped. With `mainFile` (the
 * system file), its problems come first, then those of other files (its prompt files), file by file.
 */
export function sortProblems(problems: readonly Problem[], mainFile?: string): Problem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.column}:${p.severity}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const fileKey = (p: Problem) => (p.file === mainFile ? '' : p.file);
  return unique.sort((a, b) => (fileKey(a) < fileKey(b) ? -1 : fileKey(a) > fileKey(b) ? 1 : a.line - b.line || a.column - b.column));
}

export const hasErrors = (problems: readonly Problem[]): boolean => problems.some((p) => p.severity === 'error');
