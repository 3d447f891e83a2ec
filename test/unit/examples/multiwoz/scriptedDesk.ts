/**
 * Scripted replies for the MultiWOZ example's agents, for OpenAITestServer: a reply router that tells which agent
 * is asking from the request's system prompt, which dialogue and turn from the user message, and answers as a
 * "good" desk (workers call the tools with the gold state's values; the responder names the venue and gives every
 * requestable placeholder) or a "silent" desk (no tool calls, a generic reply), per dialogue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DialogueState } from '../../../../src/evals/multiwoz/types';
import { reply, type RecordedRequest, type ScriptedReply, type ScriptedToolCall } from '../../../support/openaiTestServer';
import { REPO_ROOT } from '../../repo';

export const EXAMPLE_DIR = join(REPO_ROOT, 'examples', 'multiwoz');
export const DOMAINS = ['restaurant', 'hotel', 'attraction', 'train', 'taxi'] as const;

export interface DatasetDialogue {
  id: string;
  turns: Array<{ user: string; system: string }>;
  goal: Record<string, { informable: Record<string, string>; requestable: string[] }>;
  booked_domains: string[][];
  gold_states: DialogueState[];
}

export function readDataset(split: 'train' | 'validation' | 'test'): DatasetDialogue[] {
  return readFileSync(join(EXAMPLE_DIR, 'datasets', `${split}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as DatasetDialogue);
}

/** Per domain, tool → (argument ← gold state slot). Book tools get whatever booking slots the gold state has. */
const GOLD_CALLS: Record<string, Array<{ tool: string; args: Record<string, string> }>> = {
  restaurant: [
    { tool: 'query_restaurant', args: { area: 'area', food: 'food', price_range: 'pricerange', name: 'name' } },
    { tool: 'book_restaurant', args: { name: 'name', people: 'bookpeople', day: 'bookday', time: 'booktime' } },
  ],
  hotel: [
    { tool: 'query_hotel', args: { area: 'area', price_range: 'pricerange', stars: 'stars', type: 'type', internet: 'internet', parking: 'parking', name: 'name' } },
    { tool: 'book_hotel', args: { name: 'name', people: 'bookpeople', day: 'bookday', stay: 'bookstay' } },
  ],
  attraction: [{ tool: 'query_attraction', args: { area: 'area', type: 'type', name: 'name' } }],
  train: [
    { tool: 'query_train', args: { departure: 'departure', destination: 'destination', day: 'day', leave_at: 'leave', arrive_by: 'arrive' } },
    { tool: 'book_train', args: { people: 'bookpeople' } },
  ],
  taxi: [{ tool: 'book_taxi', args: { departure: 'departure', destination: 'destination', leave_at: 'leave', arrive_by: 'arrive' } }],
};

/** The tool calls that put exactly the gold state's slots of `domain` into the derived state. */
export function goldToolCalls(state: DialogueState, domain: string): ScriptedToolCall[] {
  const slots = state[domain] ?? {};
  const calls: ScriptedToolCall[] = [];
  for (const { tool, args } of GOLD_CALLS[domain]) {
    const values = Object.fromEntries(Object.entries(args).filter(([, slot]) => slots[slot] !== undefined).map(([arg, slot]) => [arg, slots[slot]]));
    // A book call only for booking slots (the query call carries the search slots, and the name).
    const booking = Object.keys(values).some((arg) => !['name', 'departure', 'destination', 'leave_at', 'arrive_by'].includes(arg) || tool === 'book_taxi');
    if (Object.keys(values).length && (tool.startsWith('query_') || booking)) {
      calls.push({ name: tool, arguments: tool === 'book_train' ? { train_id: 'TR0000', ...values } : values });
    }
  }
  return calls;
}

const REQUESTABLE_PLACEHOLDER: Record<string, string> = { PHONE: 'phone', ADDRESS: 'address', POST: 'postcode', REFERENCE: 'reference' };

/** The good desk's reply: the venue of each domain in this turn's gold state, with every requestable as a placeholder. */
export function goodReply(dialogue: DatasetDialogue, turn: number): string {
  const state = dialogue.gold_states[turn];
  const parts: string[] = [];
  for (const domain of Object.keys(state)) {
    const requestable = dialogue.goal[domain]?.requestable ?? [];
    const name = domain === 'train' ? '[train_id]' : domain === 'taxi' ? 'a [taxi_type]' : `[${domain}_name]`;
    const info = requestable.filter((t) => t !== 'TRAINID').map((t) => `[${domain}_${REQUESTABLE_PLACEHOLDER[t]}]`);
    parts.push(`${name} suits you${info.length ? `: ${info.join(', ')}` : ''}.`);
  }
  return parts.join(' ') || 'How can I help you?';
}

export const SILENT_REPLY = 'Could you tell me more about what you are looking for?';

/** Which agent a request comes from: its system prompt's opening words. */
export function agentOf(request: RecordedRequest): string {
  const system = String(request.body?.messages?.[0]?.content ?? '');
  if (system.startsWith('You improve the prompts of a multi-agent system')) return '(optimizer)';
  if (system.startsWith('You are the manager')) return 'manager';
  if (system.startsWith('You are the clerk')) return 'responder';
  const worker = /^You are the (\w+) worker/.exec(system);
  if (worker) return worker[1];
  throw new Error(`scripted desk: cannot tell the agent of a request whose system prompt starts "${system.slice(0, 60)}"`);
}

export interface DeskOptions {
  dialogues: DatasetDialogue[];
  /** Dialogue ids the desk answers well; the others get the silent desk. */
  good: Set<string>;
  /** The optimizer's reply (JSON text). */
  optimizerReply: string;
}

/** The reply router for OpenAITestServer. */
export function scriptedDesk(o: DeskOptions): (request: RecordedRequest) => ScriptedReply {
  return (request) => {
    const agent = agentOf(request);
    if (agent === '(optimizer)') return reply.text(o.optimizerReply);
    const messages = request.body.messages as Array<{ role: string; content: string | null }>;
    const userText = String(messages.find((m) => m.role === 'user')?.content ?? '');
    const { dialogue, turn } = locate(o.dialogues, userText);
    const good = o.good.has(dialogue.id);
    const state = dialogue.gold_states[turn];
    if (agent === 'manager') {
      return reply.text(DOMAINS.map((d) => `${d}: ${good && state[d] ? `find ${JSON.stringify(state[d])}` : 'none'}`).join('\n'));
    }
    if (agent === 'responder') return reply.text(good ? goodReply(dialogue, turn) : SILENT_REPLY);
    // A worker: tool calls on its first step when the good desk has a task for it, then a summary.
    const calledTools = messages.some((m) => m.role === 'tool');
    const calls = good ? goldToolCalls(state, agent) : [];
    if (calls.length && !calledTools) return reply.toolCalls(calls);
    return reply.text(calls.length ? `Done: ${calls.map((c) => c.name).join(', ')}.` : `No ${agent} task this turn.`);
  };
}

/** The dialogue and turn whose current user utterance is in the request's user message (the task.user block). */
function locate(dialogues: DatasetDialogue[], userText: string): { dialogue: DatasetDialogue; turn: number } {
  const block = /<block source="task\.user">\n([\s\S]*?)\n<\/block>/.exec(userText)?.[1];
  if (block === undefined) throw new Error('scripted desk: the request has no task.user block');
  for (const dialogue of dialogues) {
    const history = /<block source="task\.history">\n([\s\S]*?)\n<\/block>/.exec(userText)?.[1] ?? '';
    const turn = dialogue.turns.findIndex((t, i) => t.user === block && (i === 0 || history.includes(dialogue.turns[i - 1].system)));
    if (turn >= 0) return { dialogue, turn };
  }
  throw new Error(`scripted desk: no dialogue has the user turn "${block.slice(0, 60)}"`);
}
