/**
 * The environment module of the example workspace (examples/tau-retail/environment.ts re-exports
 * `createEnvironment`): tau-bench's retail environment (./environment.ts) with each turn's input laid out for the
 * multi-agent system, and the reward as the sample's score.
 *
 * Turn input fields (blocks of the agents, see examples/tau-retail/agentchord.yaml):
 *   message           the customer's latest message;
 *   history           the conversation before it (customer and agent messages, tool calls with their results);
 *   tauRetailSession  the episode's id, which the tools read (never shown to a model).
 * Splitting the latest message from the history gives it its own block, so connection weights say whether an agent
 * acted on what the customer just said or on something earlier.
 *
 * Options (`environment.options`): those of ./environment.ts `createEnvironment`, with `dataDir` (default `data`)
 * resolved against the module's folder (the bundle runs from a temp folder, so the engine says where the module is).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Environment, EnvironmentContext, StepResult, TurnInput } from '../../core/engine/environment';
import { createEnvironment as createRetailEnvironment } from './environment';
import { SESSION_FIELD } from './session';

/** What the history block says on the first turn. */
export const EMPTY_HISTORY = '(none: this is the customer’s first message)';

/** Splits the environment's `dialogue` (ending with `User: <message>`) into the history and the latest message. */
export function layoutTurn(input: Record<string, unknown>): Record<string, unknown> {
  const message = String(input.message ?? '');
  const dialogue = String(input.dialogue ?? '');
  const last = `User: ${message}`;
  const history = dialogue.endsWith(last) ? dialogue.slice(0, dialogue.length - last.length).trimEnd() : dialogue;
  return { message, history: history || EMPTY_HISTORY, [SESSION_FIELD]: input[SESSION_FIELD] };
}

export function createEnvironment(options: Record<string, unknown>, context?: EnvironmentContext): Environment {
  const base = context?.moduleDir ?? process.cwd();
  const dataDir = typeof options.dataDir === 'string' && options.dataDir ? options.dataDir : 'data';
  const env = createRetailEnvironment({ ...options, dataDir: isAbsolute(dataDir) ? dataDir : resolve(base, dataDir) });
  return {
    async reset(task): Promise<TurnInput> {
      return { input: layoutTurn((await env.reset(task)).input) };
    },
    async step(systemOutput, turn): Promise<StepResult> {
      const next = await env.step(systemOutput, turn);
      return next.done ? { done: true } : { done: false, input: layoutTurn(next.input ?? {}) };
    },
    async evaluate() {
      const result = await env.evaluate();
      // `score` is what the loss template and the optimizer read (else they would average every metric).
      return { metrics: { score: result.metrics.reward, ...result.metrics }, lossFields: result.lossFields };
    },
  };
}
