/** Shared helpers for the system-file tests: an in-memory file host and compact problem listings. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadSystemFromText } from '../../../../src/core/system';
import type { FileHost, LoadResult } from '../../../../src/core/system';

/** Where the in-memory system file "lives"; nothing is read from this folder. */
export const DIR = resolve('/virtual/support-desk');
export const FILE = resolve(DIR, 'agentchord.yaml');

/** A file host in which exactly these paths (relative to DIR) exist. */
export function hostWith(...relativePaths: string[]): FileHost {
  const existing = new Set(relativePaths.map((p) => resolve(DIR, p)));
  return { exists: (p) => existing.has(p) };
}

/** The prompt files of the three agents most tests use. */
export const PROMPTS = ['prompts/researcher.chord.md', 'prompts/critic.chord.md', 'prompts/writer.chord.md'];

export function load(lines: string[], host: FileHost = hostWith(...PROMPTS, 'models/tiny')): LoadResult {
  return loadSystemFromText(FILE, lines.join('\n') + '\n', host);
}

/** `line:col-endLine:endCol severity message` for each problem, the form the assertions compare. */
export function listProblems(result: LoadResult): string[] {
  return result.problems.map((p) => `${p.line}:${p.column}-${p.endLine}:${p.endColumn} ${p.severity} ${p.message}`);
}

/**
 * Asserts the problems are exactly these, in order: each given as [`line:col`, a pattern its message matches].
 * Errors are expected unless the pattern list says `warning`.
 */
export function expectProblems(result: LoadResult, expected: Array<[string, RegExp, ('error' | 'warning')?]>) {
  const actual = result.problems.map((p) => ({ at: `${p.line}:${p.column}`, message: p.message, severity: p.severity }));
  assert.equal(actual.length, expected.length, `expected ${expected.length} problems, got:\n${listProblems(result).join('\n')}`);
  expected.forEach(([at, pattern, severity = 'error'], i) => {
    assert.equal(actual[i].at, at, `problem ${i} position: ${actual[i].message}`);
    assert.match(actual[i].message, pattern);
    assert.equal(actual[i].severity, severity, `problem ${i} severity: ${actual[i].message}`);
    assert.equal(result.problems[i].file, FILE);
  });
}

/** A valid three-agent system (researcher -> critic -> writer), one line per entry so tests can point at lines. */
export const VALID = [
  'version: 1', //                                                    1
  'models:', //                                                       2
  '  gpt: { provider: openai, model: gpt-4o-mini, apiKeyEnv: OPENAI_API_KEY }', // 3
  '  tiny: { provider: local, path: models/tiny }', //               4
  'agents:', //                                                       5
  '  researcher:', //                                                 6
  '    prompt: prompts/researcher.chord.md', //                       7
  '    model: gpt', //                                                8
  '    inputs: [task.question]', //                                   9
  '  critic:', //                                                     10
  '    prompt: prompts/critic.chord.md', //                           11
  '    model: gpt', //                                                12
  '    inputs: [researcher, task.question]', //                       13
  '  writer:', //                                                     14
  '    prompt: prompts/writer.chord.md', //                           15
  '    model: gpt', //                                                16
  '    inputs: [researcher, critic]', //                              17
  'output: writer', //                                                18
];

/** VALID with line `n` (1-based) replaced by `replacement` lines. */
export function withLine(n: number, ...replacement: string[]): string[] {
  return [...VALID.slice(0, n - 1), ...replacement, ...VALID.slice(n)];
}
