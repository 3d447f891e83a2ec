/**
 * Loading a system file: YAML (with positions) -> schema check -> semantic checks -> resolved SystemConfig.
 * Every problem points at the YAML node it is about.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { nodeFileHost } from './files';
import { hasErrors, sortProblems } from './problems';
import { schemaProblems } from './schema';
import type { FileHost, LoadResult } from './types';
import { buildSystem, semanticProblems } from './validate';
import { YamlSource } from './yamlSource';

/** What the keys of these mappings are called in duplicate-key messages. */
const KEY_LABELS = new Map([
  ['agents', 'agent'],
  ['models', 'model'],
]);

/**
 * Loads a system file from its text (the editor passes unsaved text). `file` is the absolute path of the file:
 * relative paths inside it resolve against its folder, and `host` says which of those exist.
 */
export function loadSystemFromText(file: string, text: string, host: FileHost): LoadResult {
  const source = YamlSource.parse(file, text);
  const syntax = source.syntaxProblems();
  // A file that is not valid YAML gives confusing field errors (the parser guesses the rest): report only the syntax.
  if (hasErrors(syntax)) return { problems: sortProblems(syntax) };

  let data: unknown;
  try {
    data = source.toData();
  } catch (err) {
    // e.g. "Excessive alias count" for an alias bomb: the file cannot be turned into data at all.
    return { problems: [source.problem(undefined, `YAML: ${(err as Error).message}`)] };
  }
  const problems = sortProblems([
    ...syntax,
    ...source.duplicateKeyProblems(KEY_LABELS),
    ...schemaProblems(source, data),
    ...semanticProblems(source, data, host),
  ], file);
  if (hasErrors(problems)) return { problems };
  return { system: buildSystem(source, data, host), problems };
}

/** Loads a system file from disk. A file that cannot be read is one problem at 1:1. */
export function loadSystemFile(file: string): LoadResult {
  const absolute = resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read the file: ${(err as Error).message}`;
    return { problems: [{ file: absolute, line: 1, column: 1, endLine: 1, endColumn: 1, message: reason, severity: 'error' }] };
  }
  return loadSystemFromText(absolute, text, nodeFileHost);
}
