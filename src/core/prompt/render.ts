import { parsePromptFile } from './parse';

const FROZEN_TAG = /<\/?DONT_CHANGE>/g;

/**
 * What the model sees: the body (front matter stripped) with each `{{name}}` replaced by `variables[name]` (dotted
 * names are looked up whole: `variables['task.question']`) and the frozen-region tags removed, their inner text kept.
 * A tag alone on its line takes the line with it, so no blank line is left behind.
 * Placeholders with no value stay as written and are listed once each in `missing`, in order of first use.
 * Values are inserted literally: a value that contains `{{x}}` or a tag is not processed again.
 */
export function renderPrompt(text: string, variables: Record<string, string>): { text: string; missing: string[] } {
  const prompt = parsePromptFile(text);
  const edits: { start: number; end: number; insert: string }[] = [];
  const missing: string[] = [];

  for (const placeholder of prompt.placeholders) {
    if (Object.hasOwn(variables, placeholder.name)) {
      edits.push({ start: placeholder.range.start, end: placeholder.range.end, insert: variables[placeholder.name] });
    } else if (!missing.includes(placeholder.name)) {
      missing.push(placeholder.name);
    }
  }

  FROZEN_TAG.lastIndex = prompt.bodyOffset;
  for (let m = FROZEN_TAG.exec(text); m; m = FROZEN_TAG.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    const newline = text.indexOf('\n', end);
    const lineEnd = newline === -1 ? text.length : newline;
    const aloneOnLine = lineStart >= prompt.bodyOffset && !text.slice(lineStart, start).trim() && !text.slice(end, lineEnd).trim();
    if (aloneOnLine) edits.push({ start: lineStart, end: newline === -1 ? text.length : newline + 1, insert: '' });
    else edits.push({ start, end, insert: '' });
  }

  // Apply all edits in one pass over the original text (they never overlap: tags and placeholders share no characters).
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = prompt.bodyOffset;
  for (const edit of edits) {
    out += text.slice(cursor, edit.start) + edit.insert;
    cursor = edit.end;
  }
  out += text.slice(cursor);
  return { text: out, missing };
}
