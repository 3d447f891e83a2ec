import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadToolsModule, ToolsModuleError } from '../../../../src/core/tools/loadTools';
import { repoPath } from '../../repo';

const context = { agent: 'solver', toolCallId: 'call_1', signal: new AbortController().signal, state: { task: 't1' } };

test('a TypeScript tools module (with a relative import) is transpiled, loaded and its handlers run', async () => {
  const loaded = await loadToolsModule(repoPath('test/fixtures/tools/calculator.ts'));
  assert.deepEqual(loaded.schemas.map((s) => s.function.name), ['add', 'divide_by_zero', 'whoami']);
  assert.equal(loaded.schemas[0].function.description, 'Adds a list of numbers.');
  assert.deepEqual(await loaded.handlers.add({ numbers: [1, 2, 3.5] }, context), { sum: 6.5 });
  assert.equal(await loaded.handlers.whoami({}, context), 'agent=solver call=call_1 task=t1');
  assert.throws(() => loaded.handlers.divide_by_zero({}, context), /division by zero/);
});

test('a JavaScript ES module and a CommonJS module load the same way', async () => {
  const esm = await loadToolsModule(repoPath('test/fixtures/tools/weather.js'));
  assert.deepEqual(esm.schemas.map((s) => s.function.name), ['get_temperature', 'flaky']);
  assert.equal(await esm.handlers.get_temperature({ city: 'Oslo' }, context), '4 C');
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-tools-cjs-'));
  const file = join(dir, 'tools.cjs');
  writeFileSync(file, `module.exports = { tools: [{ schema: { type: 'function', function: { name: 'ping' } }, handler: () => 'pong' }] };\n`);
  const cjs = await loadToolsModule(file);
  assert.equal(await cjs.handlers.ping({}, context), 'pong');
});

test('an edited module is really reloaded, and no temp build is left behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-tools-reload-'));
  const file = join(dir, 'tools.ts');
  const version = (n: number) => `export const tools = [{ schema: { type: 'function' as const, function: { name: 'v' } }, handler: () => 'v${n}' }];\n`;
  writeFileSync(file, version(1));
  assert.equal(await (await loadToolsModule(file)).handlers.v({}, context), 'v1');
  writeFileSync(file, version(2));
  assert.equal(await (await loadToolsModule(file)).handlers.v({}, context), 'v2');
  assert.deepEqual(readdirSync(dir), ['tools.ts']);
});

test('bad modules are errors naming the file and what is wrong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-tools-bad-'));
  const cases: [string, string, RegExp][] = [
    ['syntax.ts', 'export const tools = [ {', /syntax\.ts: cannot be built: .*syntax\.ts:1:/],
    ['throws.js', 'throw new Error("no database");', /throws\.js: failed while loading: no database/],
    ['noexport.js', 'export const tool = [];', /must export `tools`/],
    ['noname.js', 'export const tools = [{ schema: { type: "function", function: {} }, handler() {} }];', /tools\[0\]\.schema\.function\.name/],
    ['badname.js', 'export const tools = [{ schema: { type: "function", function: { name: "has space" } }, handler() {} }];', /"has space"/],
    ['nohandler.js', 'export const tools = [{ schema: { type: "function", function: { name: "a" } } }];', /tools\[0\]\.handler must be a function \(tool "a"\)/],
    ['notfunction.js', 'export const tools = [{ schema: { type: "tool", function: { name: "a" } }, handler() {} }];', /tools\[0\]\.schema must be/],
    ['twice.js', 'const t = { schema: { type: "function", function: { name: "a" } }, handler() {} }; export const tools = [t, t];', /tools\[1\]: tool "a" is defined twice/],
  ];
  for (const [name, source, expected] of cases) {
    const file = join(dir, name);
    writeFileSync(file, source);
    await assert.rejects(loadToolsModule(file), (err: unknown) => {
      assert.ok(err instanceof ToolsModuleError, `${name}: ${String(err)}`);
      assert.ok(err.message.startsWith(file), `${name}: message should start with the file: ${err.message}`);
      assert.match(err.message, expected);
      return true;
    });
  }
  await assert.rejects(loadToolsModule(join(dir, 'missing.ts')), /missing\.ts: cannot be built/);
});
