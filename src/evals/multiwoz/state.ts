/**
 * The dialogue state of a run, derived from the workers' tool calls as in the GBC paper: every query_/book_ call's
 * arguments are the slot values the system has understood so far. The state after a turn merges all calls up to
 * it (a later value for a slot replaces the earlier one), in the evaluator's state format, with its normalisation.
 */
import type { DialogueState } from './types';
import { MULTIWOZ_TOOL_NAMES, normaliseToolValue, slotValueText, TOOL_SLOTS, type MultiwozToolName } from './tools';

/** A tool call as an LLM returned it: arguments as an object or as the JSON text of one. */
export interface ToolCallRecord {
  name: string;
  arguments: Record<string, unknown> | string;
}

function isMultiwozTool(name: string): name is MultiwozToolName {
  return (MULTIWOZ_TOOL_NAMES as readonly string[]).includes(name);
}

/**
 * The slots one call sets: `{domain, slots}`, or null for a call that sets none (another tool, arguments that are not
 * a JSON object). Lenient on purpose: the state records what the worker meant even when the tool rejected the call.
 */
export function slotsFromToolCall(call: ToolCallRecord): { domain: string; slots: Record<string, string> } | null {
  if (!isMultiwozTool(call.name)) return null;
  const args = parseArguments(call.arguments);
  if (!args) return null;
  const { domain, slots: slotOfArgument } = TOOL_SLOTS[call.name];
  const slots: Record<string, string> = {};
  for (const [arg, raw] of Object.entries(args)) {
    if (!Object.hasOwn(slotOfArgument, arg)) continue;
    const text = slotValueText(raw);
    if (text !== undefined) slots[slotOfArgument[arg]] = normaliseToolValue(slotOfArgument[arg], text);
  }
  return Object.keys(slots).length > 0 ? { domain, slots } : null;
}

/** The state after these calls, starting from `previous` (not modified). */
export function stateFromToolCalls(calls: ToolCallRecord[], previous: DialogueState = {}): DialogueState {
  const state: DialogueState = Object.fromEntries(Object.entries(previous).map(([domain, slots]) => [domain, { ...slots }]));
  for (const call of calls) {
    const update = slotsFromToolCall(call);
    if (!update) continue;
    state[update.domain] = { ...(state[update.domain] ?? {}), ...update.slots };
  }
  return state;
}

/** One state per turn, given each turn's tool calls in order: what goes into a predictions file's `state`. */
export function statesPerTurn(callsPerTurn: ToolCallRecord[][]): DialogueState[] {
  const states: DialogueState[] = [];
  let state: DialogueState = {};
  for (const calls of callsPerTurn) {
    state = stateFromToolCalls(calls, state);
    states.push(state);
  }
  return states;
}

function parseArguments(args: Record<string, unknown> | string): Record<string, unknown> | null {
  let parsed: unknown = args;
  if (typeof args === 'string') {
    try {
      parsed = JSON.parse(args);
    } catch {
      return null;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}
