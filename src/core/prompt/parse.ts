import { parseDocument } from 'yaml';
import { LineIndex } from './lineIndex';
import {
  FROZEN_CLOSE_TAG,
  FROZEN_OPEN_TAG,
  type FrontMatter,
  type FrozenRegion,
  type Placeholder,
  type PromptFile,
  type PromptProblem,
} from './types';

/** A placeholder name: identifier parts (letters, digits, `_`, `-`; not starting with a digit) joined by dots. */
export const PLACEHOLDER_NAME = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*$/;

/** A `---` line, trailing spaces allowed, ending in a newline or the end of the text. */
const DELIMITER_LINE = /^---[ \t]*(?:\r?\n|(?![\s\S]))/gm;
const FROZEN_TAG = /<\/?DONT_CHANGE>/g;

/**
 * Parses a prompt file. The YAML goes to the `yaml` package; placeholders and frozen tags are scanned by hand, since
 * they are fixed tokens that no Markdown parser knows about.
 * Never throws: whatever is wrong is reported in `problems` (1-based line/column,
 * 0-based offsets into `text`), and the rest is parsed as well as it can be.
 */
export function parsePromptFile(text: string): PromptFile {
  const lines = new LineIndex(text);
  const problems: PromptProblem[] = [];
  const { frontMatter, bodyOffset } = parseFrontMatter(text, lines, problems);
  const body = text.slice(bodyOffset);
  const frozenRegions = findFrozenRegions(text, bodyOffset, lines, problems);
  const placeholders = findPlaceholders(text, bodyOffset, lines, problems);
  problems.sort((a, b) => a.range.start - b.range.start);
  return { frontMatter, body, bodyOffset, placeholders, frozenRegions, problems };
}

function parseFrontMatter(
  text: string,
  lines: LineIndex,
  problems: PromptProblem[],
): { frontMatter?: FrontMatter; bodyOffset: number } {
  const start = text.startsWith('\uFEFF') ? 1 : 0; // a byte-order mark is not content
  DELIMITER_LINE.lastIndex = start;
  const opening = DELIMITER_LINE.exec(text);
  if (!opening || opening.index !== start) return { bodyOffset: 0 }; // front matter only counts at the very top
  const contentStart = start + opening[0].length;
  DELIMITER_LINE.lastIndex = contentStart;
  const closing = DELIMITER_LINE.exec(text);
  if (!closing) {
    problems.push({
      code: 'unclosed-front-matter',
      severity: 'error',
      message: 'The front matter opened by `---` on line 1 is never closed by a `---` line; the file is read as having no front matter.',
      range: lines.range(start, start + 3),
    });
    return { bodyOffset: 0 };
  }
  const contentEnd = closing.index;
  const bodyOffset = closing.index + closing[0].length;
  const yamlText = text.slice(contentStart, contentEnd);

  const doc = parseDocument(yamlText, { prettyErrors: false });
  for (const [issues, severity] of [
    [doc.errors, 'error'],
    [doc.warnings, 'warning'],
  ] as const) {
    for (const issue of issues) {
      const [from, to] = issue.pos;
      problems.push({
        code: 'yaml',
        severity,
        message: `Front matter YAML: ${issue.message}`,
        range: lines.range(contentStart + from, contentStart + Math.max(to, from)),
      });
    }
  }
  let data: Record<string, unknown> = {};
  if (doc.errors.length === 0) {
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (err) {
      // Some errors only show when values are built, e.g. an alias to an anchor defined later.
      problems.push({
        code: 'yaml',
        severity: 'error',
        message: `Front matter YAML: ${err instanceof Error ? err.message : String(err)}`,
        range: lines.range(contentStart, contentEnd),
      });
    }
    if (value !== null && value !== undefined) {
      if (typeof value === 'object' && !Array.isArray(value)) {
        data = value as Record<string, unknown>;
      } else {
        problems.push({
          code: 'front-matter-not-mapping',
          severity: 'error',
          message: 'The front matter must be a YAML mapping (`key: value` lines).',
          range: lines.range(contentStart, contentEnd),
        });
      }
    }
  }
  return {
    frontMatter: { data, range: lines.range(start, bodyOffset), contentRange: lines.range(contentStart, contentEnd) },
    bodyOffset,
  };
}

/** Frozen regions are not nested: a second open tag inside a region is reported and read as plain text. */
function findFrozenRegions(text: string, bodyOffset: number, lines: LineIndex, problems: PromptProblem[]): FrozenRegion[] {
  const regions: FrozenRegion[] = [];
  let openAt = -1;
  FROZEN_TAG.lastIndex = bodyOffset;
  for (let m = FROZEN_TAG.exec(text); m; m = FROZEN_TAG.exec(text)) {
    const tagStart = m.index;
    const tagEnd = tagStart + m[0].length;
    if (m[0] === FROZEN_OPEN_TAG) {
      if (openAt === -1) {
        openAt = tagStart;
      } else {
        const outer = lines.position(openAt);
        problems.push({
          code: 'nested-frozen-open',
          severity: 'error',
          message: `${FROZEN_OPEN_TAG} inside the frozen region opened on line ${outer.line}, column ${outer.column}; frozen regions cannot be nested.`,
          range: lines.range(tagStart, tagEnd),
        });
      }
    } else if (openAt === -1) {
      problems.push({
        code: 'stray-frozen-close',
        severity: 'error',
        message: `${FROZEN_CLOSE_TAG} without a matching ${FROZEN_OPEN_TAG} before it.`,
        range: lines.range(tagStart, tagEnd),
      });
    } else {
      const innerStart = openAt + FROZEN_OPEN_TAG.length;
      regions.push({
        range: lines.range(openAt, tagEnd),
        innerRange: lines.range(innerStart, tagStart),
        inner: text.slice(innerStart, tagStart),
        source: text.slice(openAt, tagEnd),
      });
      openAt = -1;
    }
  }
  if (openAt !== -1) {
    problems.push({
      code: 'unclosed-frozen-region',
      severity: 'error',
      message: `${FROZEN_OPEN_TAG} is never closed by ${FROZEN_CLOSE_TAG}.`,
      range: lines.range(openAt, openAt + FROZEN_OPEN_TAG.length),
    });
  }
  return regions;
}

/** A placeholder opens and closes on one line; `{{` with no `}}` later on its line is reported. */
function findPlaceholders(text: string, bodyOffset: number, lines: LineIndex, problems: PromptProblem[]): Placeholder[] {
  const placeholders: Placeholder[] = [];
  for (let open = text.indexOf('{{', bodyOffset); open !== -1; ) {
    const lineEnd = text.indexOf('\n', open);
    const close = text.indexOf('}}', open + 2);
    if (close === -1 || (lineEnd !== -1 && close > lineEnd)) {
      problems.push({
        code: 'unclosed-placeholder',
        severity: 'error',
        message: '`{{` is not closed by `}}` on the same line.',
        range: lines.range(open, open + 2),
      });
      open = text.indexOf('{{', open + 2);
      continue;
    }
    const name = text.slice(open + 2, close).trim();
    const range = lines.range(open, close + 2);
    if (PLACEHOLDER_NAME.test(name)) {
      placeholders.push({ name, range });
    } else {
      problems.push({
        code: 'invalid-placeholder-name',
        severity: 'warning',
        message: `\`${text.slice(open, close + 2)}\` is not a placeholder (a name is letters, digits, \`_\` and \`-\` in dot-separated parts, e.g. \`{{task.question}}\`); it is left as written.`,
        range,
      });
    }
    open = text.indexOf('{{', close + 2);
  }
  return placeholders;
}
