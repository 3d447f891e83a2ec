/**
 * A prompt file (`*.chord.md`) as the rest of AgentChord sees it: Markdown with optional YAML front matter,
 * `{{variable}}` placeholders and frozen regions `<DONT_CHANGE>...</DONT_CHANGE>` that no optimizer may alter.
 * Plain data: no `vscode` import anywhere under src/core.
 */
import type { SourceRange } from '../system/types';

/**
 * A span of the prompt file's text. `start`/`end` are 0-based offsets into the whole text ([start, end), in UTF-16
 * code units like JavaScript strings and VS Code); line/column are 1-based, the end column is exclusive.
 */
export interface PromptRange extends SourceRange {
  start: number;
  end: number;
}

export interface FrontMatter {
  /** The YAML mapping; `{}` when the front matter is empty, not a mapping, or has YAML errors. */
  data: Record<string, unknown>;
  /** The whole front matter, both `---` lines included. */
  range: PromptRange;
  /** The YAML text between the two `---` lines. */
  contentRange: PromptRange;
}

export interface Placeholder {
  /** The variable name with surrounding spaces trimmed: `task.question` for `{{ task.question }}`. */
  name: string;
  /** From the first `{` to the last `}`. */
  range: PromptRange;
}

export interface FrozenRegion {
  /** The whole region, both tags included. */
  range: PromptRange;
  /** The text between the tags. */
  innerRange: PromptRange;
  /** The text between the tags, exactly as written. */
  inner: string;
  /** The whole region exactly as written, tags included: what an optimizer must leave untouched. */
  source: string;
}

export type PromptProblemCode =
  | 'yaml'
  | 'front-matter-not-mapping'
  | 'unclosed-front-matter'
  | 'unclosed-frozen-region'
  | 'stray-frozen-close'
  | 'nested-frozen-open'
  | 'unclosed-placeholder'
  | 'invalid-placeholder-name';

export interface PromptProblem {
  code: PromptProblemCode;
  message: string;
  severity: 'error' | 'warning';
  range: PromptRange;
}

export interface PromptFile {
  /** Absent when the file does not start with a `---` line (or that front matter is never closed). */
  frontMatter?: FrontMatter;
  /** Everything after the front matter: what the model sees once placeholders are filled. */
  body: string;
  /** Offset of `body` in the whole text. */
  bodyOffset: number;
  /** In text order; only well-formed ones (`{{ name }}` with a valid name). */
  placeholders: Placeholder[];
  /** In text order; only properly closed ones. */
  frozenRegions: FrozenRegion[];
  /** In text order. */
  problems: PromptProblem[];
}

/** The two tags of a frozen region, exactly as they must be written (case-sensitive). */
export const FROZEN_OPEN_TAG = '<DONT_CHANGE>';
export const FROZEN_CLOSE_TAG = '</DONT_CHANGE>';
