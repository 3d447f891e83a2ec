/**
 * Multi-turn tasks: a workspace environment module (`environment: { module }` in agentchord.yaml) plays the other
 * side of the conversation (e.g. a simulated user) and scores the whole dialogue. Contract (docs/environments.md):
 *
 *   export function createEnvironment(options) {
 *     return {
 *       async reset(task)        { return { input: { message: 'Hi, I want to return an order' } }; },
 *       async step(systemOutput, { turn, calls }) { return { done: false, input: { message: '...' } }; },
 *       async evaluate()         { return { metrics: { success: 1 }, lossFields: { transcript: '...' } }; },
 *     };
 *   }
 *
 * The module is loaded like the tools module (bundled by esbuild, TS or JS). One environment is created per sample,
 * so concurrent samples never share state.
 */
import { dirname } from 'node:path';
import { buildAndRequire, ToolsModuleError } from '../tools/loadTools';
import type { TaskSample } from './dataset';
import type { AgentCall } from './types';

export interface TurnInput {
  input: Record<string, unknown>;
}

export interface StepResult {
  done: boolean;
  input?: Record<string, unknown>;
}

/** What the system did in a turn, for environments that judge more than the answer (e.g. the tool calls' arguments). */
export interface TurnRecord {
  turn: number;
  /** Every agent call of this turn, in the order they ran (tool calls with arguments and results included). */
  calls: AgentCall[];
}

export interface EnvironmentEvaluation {
  metrics: Record<string, number>;
  lossFields: Record<string, unknown>;
}

export interface Environment {
  reset(task: TaskSample): Promise<TurnInput>;
  step(systemOutput: string, turn: TurnRecord): Promise<StepResult>;
  evaluate(): Promise<EnvironmentEvaluation>;
}

export type EnvironmentFactory = (options: Record<string, unknown>) => Environment;

/**
 * The second argument of `createEnvironment(options, context)`. The module runs from a bundle in a temp folder, so
 * its own `__dirname` says nothing about the workspace: relative paths in `options` resolve against `moduleDir`.
 */
export interface EnvironmentContext {
  /** Absolute path of the environment module as named in agentchord.yaml. */
  moduleFile: string;
  /** The folder holding it. */
  moduleDir: string;
}

/** An environment module that cannot be loaded, or that breaks the contract. The message names the file. */
export class EnvironmentError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'EnvironmentError';
  }
}

export async function loadEnvironmentModule(file: string): Promise<EnvironmentFactory> {
  let exports: unknown;
  try {
    exports = await buildAndRequire(file);
  } catch (err) {
    // The shared loader names its errors after tools modules; the message (file: detail) is what matters.
    if (err instanceof ToolsModuleError) throw new EnvironmentError(file, err.message.slice(file.length + 2));
    throw err;
  }
  const create = (exports as { createEnvironment?: unknown } | null)?.createEnvironment;
  if (typeof create !== 'function') {
    throw new EnvironmentError(file, 'must export a function `createEnvironment(options)` (see docs/environments.md)');
  }
  const context: EnvironmentContext = { moduleFile: file, moduleDir: dirname(file) };
  return (options) => checkedEnvironment(file, (create as (o: Record<string, unknown>, c: EnvironmentContext) => unknown)(options, context));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Wraps the module's object so each answer is checked; a wrong shape is an error naming the file and method. */
function checkedEnvironment(file: string, env: unknown): Environment {
  if (!isRecord(env)) throw new EnvironmentError(file, 'createEnvironment(options) must return an object with reset, step and evaluate');
  for (const method of ['reset', 'step', 'evaluate']) {
    if (typeof env[method] !== 'function') throw new EnvironmentError(file, `the environment has no method ${method}()`);
  }
  const call = async (method: string, ...args: unknown[]): Promise<unknown> => {
    try {
      return await (env[method] as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      throw new EnvironmentError(file, `${method}() failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    async reset(task) {
      const r = await call('reset', task);
      if (!isRecord(r) || !isRecord(r.input)) throw new EnvironmentError(file, 'reset(task) must return { input: { field: value, ... } }');
      return { input: r.input };
    },
    async step(systemOutput, turn) {
      const r = await call('step', systemOutput, turn);
      if (!isRecord(r) || typeof r.done !== 'boolean') throw new EnvironmentError(file, 'step(output) must return { done: boolean, input? }');
      if (!r.done && !isRecord(r.input)) throw new EnvironmentError(file, 'step(output) returned done: false without the next turn\'s input');
      return r.done ? { done: true, ...(isRecord(r.input) ? { input: r.input } : {}) } : { done: false, input: r.input as Record<string, unknown> };
    },
    async evaluate() {
      const r = await call('evaluate');
      if (!isRecord(r) || !isRecord(r.metrics) || !isRecord(r.lossFields)) {
        throw new EnvironmentError(file, 'evaluate() must return { metrics: { name: number }, lossFields: { ... } }');
      }
      for (const [k, v] of Object.entries(r.metrics)) {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new EnvironmentError(file, `evaluate(): metrics.${k} must be a finite number`);
      }
      return { metrics: r.metrics as Record<string, number>, lossFields: r.lossFields };
    },
  };
}
