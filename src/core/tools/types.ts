/**
 * The contract of a workspace tools module (documented for users in docs/tools.md):
 *
 *   export const tools = [
 *     { schema: { type: 'function', function: { name, description, parameters } }, handler: async (args, context) => ... },
 *   ];
 *
 * One entry per tool keeps each schema next to the code that implements it. A handler returns a string (sent to the
 * model as is) or any JSON-serialisable value (sent as JSON); throwing or rejecting becomes an error the agent sees.
 */
import type { ToolSchema } from '../llm/types';

/** What a handler learns about the call besides its arguments. */
export interface ToolContext {
  /** The agent calling the tool, when the engine runs it ('' otherwise). */
  agent: string;
  toolCallId: string;
  /** Aborts when the run is cancelled; long handlers should pass it on (fetch, child processes). */
  signal: AbortSignal;
  /** Free-form data the engine shares with handlers (e.g. the task sample, environment state). */
  state: Record<string, unknown>;
}

export type ToolHandler = (args: Record<string, unknown>, context: ToolContext) => unknown;

export interface ToolDefinition {
  schema: ToolSchema;
  handler: ToolHandler;
}

export interface LoadedTools {
  /** Absolute path of the module. */
  file: string;
  /** In module order. */
  schemas: ToolSchema[];
  handlers: Record<string, ToolHandler>;
}
