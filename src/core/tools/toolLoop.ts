/**
 * The tool loop of one agent call (OpenAI function calling):
 *   ask the model -> it calls tools -> run each handler -> send the results back -> ask again ...
 * until the model answers without calling a tool (that answer is the agent's output).
 *
 * Failures of a tool (unknown name, arguments that are not a JSON object, a handler that throws or rejects, a result
 * that is not serialisable) are not crashes: the agent receives `{"error": "..."}` as the tool result and can react.
 * After `maxSteps` model calls that all asked for tools, one last call without tools asks for the final answer.
 * Every step is reported (request, response, tool results, timing) so traces can replay the conversation.
 *
 * The exception is a handler that does not finish within its time-out (`handlerTimeout`): that fails the loop with
 * an error naming the tool, since a hung handler is a bug to fix, not an answer the model can use (and it may still
 * be running).
 */
import type { ChatMessage, ChatParameters, ChatProvider, ChatRequest, ChatResponse, TokenUsage, ToolCall, ToolSchema } from '../llm/types';
import { UserCodeTimeoutError, withTimeout } from '../util/timeout';
import type { ToolContext, ToolHandler } from './types';

export const FINAL_ANSWER_PROMPT =
  'You have reached the limit of tool calls for this task. Do not call any more tools: give your final answer now, using what you have.';

export interface ToolResult {
  toolCallId: string;
  name: string;
  /** The arguments text as the model wrote it. */
  arguments: string;
  /** What the model receives as the tool message. */
  content: string;
  /** Set when the call failed; `content` is then `{"error": <this>}`. */
  error?: string;
  durationMs: number;
}

export interface ToolLoopStep {
  /** 0-based. */
  index: number;
  /** The request exactly as sent (messages copied, later steps do not change it). */
  request: ChatRequest;
  response: ChatResponse;
  toolResults: ToolResult[];
  /** True for the extra call made without tools after the step limit. */
  forcedFinal: boolean;
  startedAt: string;
  durationMs: number;
}

export interface ToolLoopOptions {
  provider: ChatProvider;
  messages: ChatMessage[];
  /** Schemas offered to the model (only those this agent may use). */
  tools: ToolSchema[];
  handlers: Record<string, ToolHandler>;
  /** Model calls allowed to request tools (>= 1); then one more call without tools. */
  maxSteps: number;
  parameters?: ChatParameters;
  signal?: AbortSignal;
  onStep?: (step: ToolLoopStep) => void;
  /** Agent name and shared state handed to handlers. */
  context?: { agent?: string; state?: Record<string, unknown> };
  /** The user message of the forced final call. */
  finalAnswerPrompt?: string;
  /** Longest one handler may take. Default: none (the engine always sets tools.timeoutSeconds). */
  handlerTimeout?: HandlerTimeout;
}

export interface HandlerTimeout {
  seconds: number;
  /** The setting that bounds it, named in the error (e.g. tools.timeoutSeconds). */
  setting: string;
}

export interface ToolLoopResult {
  /** The final answer. */
  content: string;
  /** The whole conversation, input messages first, final assistant message last. */
  messages: ChatMessage[];
  steps: ToolLoopStep[];
  /** Summed over all steps (cache hits included: they are what the model would have used). */
  usage: TokenUsage;
  /** 'answer': the model stopped calling tools; 'step_limit': the answer was forced after maxSteps. */
  stoppedBy: 'answer' | 'step_limit';
}

export async function runToolLoop(options: ToolLoopOptions): Promise<ToolLoopResult> {
  const { provider, tools, handlers, signal, onStep } = options;
  if (!Number.isInteger(options.maxSteps) || options.maxSteps < 1) throw new RangeError(`maxSteps must be an integer >= 1 (got ${options.maxSteps})`);
  const messages: ChatMessage[] = [...options.messages];
  const steps: ToolLoopStep[] = [];
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };

  const call = async (request: ChatRequest, forcedFinal: boolean): Promise<ToolLoopStep> => {
    const startedAt = new Date();
    const started = performance.now();
    const response = await provider.complete(request, signal);
    usage.promptTokens += response.usage.promptTokens;
    usage.completionTokens += response.usage.completionTokens;
    const step: ToolLoopStep = { index: steps.length, request, response, toolResults: [], forcedFinal, startedAt: startedAt.toISOString(), durationMs: 0 };
    steps.push(step);
    if (!forcedFinal && response.message.toolCalls.length) {
      messages.push({ role: 'assistant', content: response.message.content || null, toolCalls: response.message.toolCalls });
      for (const toolCall of response.message.toolCalls) {
        const result = await runTool(toolCall, handlers, {
          agent: options.context?.agent ?? '',
          toolCallId: toolCall.id,
          signal: signal ?? new AbortController().signal,
          state: options.context?.state ?? {},
        }, options.handlerTimeout);
        // A handler that failed because the run was cancelled is a cancellation, not an error for the model.
        signal?.throwIfAborted();
        step.toolResults.push(result);
        messages.push({ role: 'tool', toolCallId: toolCall.id, content: result.content });
      }
    } else {
      messages.push({ role: 'assistant', content: response.message.content });
    }
    step.durationMs = Math.round(performance.now() - started);
    onStep?.(step);
    return step;
  };

  for (let i = 0; i < options.maxSteps; i++) {
    signal?.throwIfAborted();
    const step = await call({ messages: [...messages], tools, parameters: options.parameters }, false);
    if (!step.response.message.toolCalls.length) return { content: step.response.message.content, messages, steps, usage, stoppedBy: 'answer' };
  }
  signal?.throwIfAborted();
  messages.push({ role: 'user', content: options.finalAnswerPrompt ?? FINAL_ANSWER_PROMPT });
  // No tools offered: the model can only answer. Tool calls it still makes are ignored.
  const final = await call({ messages: [...messages], parameters: options.parameters }, true);
  return { content: final.response.message.content, messages, steps, usage, stoppedBy: 'step_limit' };
}

/**
 * Runs one tool call; a failure becomes the error result the model sees. Throws only a UserCodeTimeoutError: the
 * handler did not finish within `timeout` (a cancelled handler also gives an error result; the loop then stops).
 */
export async function runTool(toolCall: ToolCall, handlers: Record<string, ToolHandler>, context: ToolContext, timeout?: HandlerTimeout): Promise<ToolResult> {
  const started = performance.now();
  const done = (content: string, error?: string): ToolResult => ({
    toolCallId: toolCall.id,
    name: toolCall.name,
    arguments: toolCall.arguments,
    content,
    ...(error === undefined ? {} : { error }),
    durationMs: Math.round(performance.now() - started),
  });
  const fail = (error: string) => done(JSON.stringify({ error }), error);

  const handler = Object.prototype.hasOwnProperty.call(handlers, toolCall.name) ? handlers[toolCall.name] : undefined;
  if (!handler) return fail(`unknown tool "${toolCall.name}"; available: ${Object.keys(handlers).join(', ') || 'none'}`);
  let args: unknown;
  try {
    args = toolCall.arguments.trim() === '' ? {} : JSON.parse(toolCall.arguments);
  } catch (err) {
    return fail(`the arguments of "${toolCall.name}" are not valid JSON: ${(err as Error).message}`);
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return fail(`the arguments of "${toolCall.name}" must be a JSON object`);
  let value: unknown;
  try {
    value = timeout
      ? await withTimeout((signal) => handler(args as Record<string, unknown>, { ...context, signal }), {
          seconds: timeout.seconds,
          what: `tool "${toolCall.name}"`,
          setting: timeout.setting,
          signal: context.signal,
        })
      : await handler(args as Record<string, unknown>, context);
  } catch (err) {
    if (err instanceof UserCodeTimeoutError) throw err;
    return fail(`tool "${toolCall.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value === 'string') return done(value);
  if (value === undefined) return done('');
  try {
    return done(JSON.stringify(value));
  } catch (err) {
    return fail(`tool "${toolCall.name}" returned a value that is not JSON-serialisable: ${(err as Error).message}`);
  }
}
