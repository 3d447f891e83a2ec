/**
 * Loads a workspace tools module (`tools:` in agentchord.yaml), written in TypeScript or JavaScript (ESM or CommonJS).
 *
 * Every module goes through esbuild's `build` API into one CommonJS file in a private temp folder, which is then
 * required and deleted. One path for all flavours: TS needs transpiling anyway, ESM cannot be `require`d by Node 20,
 * and the module's own imports (relative files, the workspace's node_modules) are resolved from where the module
 * lives and bundled in. A fresh file each time also means an edited module is really reloaded.
 * (esbuild is therefore a runtime dependency of the extension and CLI, not only a build tool.)
 */
import * as esbuild from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ToolSchema } from '../llm/types';
import type { LoadedTools, ToolHandler } from './types';

/** A tools module that cannot be built, loaded or does not follow the contract. The message names the file. */
export class ToolsModuleError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ToolsModuleError';
  }
}

/** OpenAI's rule for function names. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export async function loadToolsModule(file: string): Promise<LoadedTools> {
  const exports = await buildAndRequire(file);
  return validateToolsExports(file, exports);
}

/** Bundles a workspace module (TS or JS, ESM or CJS) with esbuild and requires it; also used for environment modules. */
export async function buildAndRequire(file: string): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'agentchord-tools-'));
  const outfile = join(dir, `${basename(file).replace(/\.[^.]*$/, '')}.cjs`);
  try {
    try {
      await esbuild.build({
        entryPoints: [file],
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        sourcemap: 'inline',
        logLevel: 'silent',
      });
    } catch (err) {
      throw new ToolsModuleError(file, `cannot be built: ${describeBuildFailure(err)}`);
    }
    try {
      // createRequire: a plain `require(outfile)` would be seen (and mangled) by the bundler that builds AgentChord.
      return createRequire(outfile)(outfile);
    } catch (err) {
      throw new ToolsModuleError(file, `failed while loading: ${(err as Error)?.message ?? String(err)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function describeBuildFailure(err: unknown): string {
  const errors = (err as { errors?: esbuild.Message[] }).errors;
  if (!errors?.length) return (err as Error)?.message ?? String(err);
  return errors
    .map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text))
    .join('; ');
}

/** Checks the module's exports against the contract (see ./types.ts, docs/tools.md). */
export function validateToolsExports(file: string, exports: unknown): LoadedTools {
  const tools = (exports as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) {
    throw new ToolsModuleError(file, 'must export `tools`, an array of { schema, handler } (see docs/tools.md)');
  }
  const schemas: ToolSchema[] = [];
  const handlers: Record<string, ToolHandler> = {};
  tools.forEach((entry: unknown, i) => {
    const where = `tools[${i}]`;
    const { schema, handler } = (entry ?? {}) as { schema?: unknown; handler?: unknown };
    const fn = (schema as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } } | undefined);
    if (typeof schema !== 'object' || schema === null || fn?.type !== 'function') {
      throw new ToolsModuleError(file, `${where}.schema must be { type: 'function', function: { name, description, parameters } }`);
    }
    const name = fn.function?.name;
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
      throw new ToolsModuleError(file, `${where}.schema.function.name must be 1-64 letters, digits, '_' or '-' (got ${JSON.stringify(name)})`);
    }
    const description = fn.function?.description;
    if (description !== undefined && typeof description !== 'string') {
      throw new ToolsModuleError(file, `${where}.schema.function.description must be a string`);
    }
    const parameters = fn.function?.parameters;
    if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) {
      throw new ToolsModuleError(file, `${where}.schema.function.parameters must be a JSON Schema object`);
    }
    if (typeof handler !== 'function') throw new ToolsModuleError(file, `${where}.handler must be a function (tool "${name}")`);
    if (handlers[name]) throw new ToolsModuleError(file, `${where}: tool "${name}" is defined twice`);
    schemas.push(schema as ToolSchema);
    handlers[name] = handler as ToolHandler;
  });
  return { file, schemas, handlers };
}
