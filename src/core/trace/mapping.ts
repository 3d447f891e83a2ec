/**
 * The mapping file of `agentchord import --map <file>` (JSON or YAML), for what a trace does not say by itself:
 *
 *   agents:                       # agent name for LLM calls, keyed by (first match wins) the LLM span's id, the
 *     "Triage Agent": triage      #   name of its enclosing agent, or the LLM span's own name
 *     "ChatOpenAI": writer
 *   links:                        # hand-offs that are paraphrased, not passed verbatim: the task text of every call
 *     - { from: researcher, to: writer }   # of `to` counts as a block from the latest earlier call of `from`
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { TraceError } from './types';

export interface TraceMapping {
  agents: Record<string, string>;
  links: Array<{ from: string; to: string }>;
}

export function readMapping(file: string): TraceMapping {
  let value: unknown;
  try {
    value = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TraceError(`${file}: ${code ? `cannot read the mapping file (${code})` : `not valid YAML or JSON (${(err as Error).message})`}`);
  }
  return parseMapping(value, file);
}

export function parseMapping(value: unknown, file: string): TraceMapping {
  if (value === null || value === undefined) return { agents: {}, links: [] };
  if (typeof value !== 'object' || Array.isArray(value)) throw new TraceError(`${file}: the mapping must be an object with "agents" and/or "links"`);
  const { agents = {}, links = [], ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new TraceError(`${file}: unknown field "${unknown[0]}" (the mapping has "agents" and "links")`);
  if (typeof agents !== 'object' || agents === null || Array.isArray(agents)) throw new TraceError(`${file}: "agents" must map names to agent names`);
  for (const [key, name] of Object.entries(agents)) {
    if (typeof name !== 'string' || !name.trim()) throw new TraceError(`${file}: agents."${key}" must be an agent name (a string)`);
  }
  if (!Array.isArray(links)) throw new TraceError(`${file}: "links" must be a list of {from, to}`);
  links.forEach((l, i) => {
    const ok = l && typeof l === 'object' && typeof (l as { from?: unknown }).from === 'string' && typeof (l as { to?: unknown }).to === 'string';
    if (!ok) throw new TraceError(`${file}: links[${i}] must be {from: <agent>, to: <agent>}`);
  });
  return { agents: agents as Record<string, string>, links: links as TraceMapping['links'] };
}
