/**
 * Reading the JSON object a model was asked to reply with. Models wrap it in code fences, put prose before or after
 * it, or leave a trailing comma; all of that is tolerated. Nothing else is guessed: anything that still is not JSON
 * is an error quoting where parsing stopped. (Hand-written: the JSON5-style parsers would also accept single quotes,
 * comments and bare keys, which would hide a truncated or garbled reply rather than report it.)
 */

export type LooseJsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

export function parseJsonObject(reply: string): LooseJsonResult {
  const candidates: string[] = [];
  // Fenced blocks first (```json ... ```), then the outermost {...} of the whole reply.
  for (const m of reply.matchAll(/```[a-zA-Z0-9_-]*\s*\n([\s\S]*?)```/g)) candidates.push(m[1]);
  const whole = outermostObject(reply);
  if (whole) candidates.push(whole);
  if (candidates.length === 0) return { ok: false, error: 'the reply holds no JSON object (no "{ ... }" found)' };

  let firstError = '';
  for (const text of candidates) {
    const object = outermostObject(text) ?? text;
    for (const attempt of [object, withoutTrailingCommas(object)]) {
      try {
        const value: unknown = JSON.parse(attempt);
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
        firstError ||= 'the reply\'s JSON is not an object';
      } catch (err) {
        firstError ||= `the reply is not valid JSON (${(err as Error).message})`;
      }
    }
  }
  return { ok: false, error: firstError };
}

/** From the first `{` to the brace that closes it, skipping braces inside strings; undefined when never closed. */
function outermostObject(text: string): string | undefined {
  const start = text.indexOf('{');
  if (start === -1) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

/** Drops commas that directly precede `}` or `]`, outside strings (the one slip that is safe to repair). */
function withoutTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) continue;
    out += ch;
  }
  return out;
}
