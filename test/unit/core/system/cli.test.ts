/** `agentchord validate`: exit codes and the exact lines it prints. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { validateCommand } from '../../../../src/cli/commands/validate';
import { CliError } from '../../../../src/cli/cliError';
import { repoPath } from '../../repo';

/** Runs the command in-process and captures what it writes to stdout. */
async function validate(...args: string[]): Promise<{ code: number; lines: string[] }> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await validateCommand.run(args);
    return { code, lines: chunks.join('').split('\n').filter(Boolean) };
  } finally {
    process.stdout.write = original;
  }
}

/** A temp folder with these files; returns its path. */
function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-cli-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** How the CLI shows a path: relative to the current directory when inside it. */
const shown = (file: string) => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

const CYCLE = [
  'version: 1',
  'models: { gpt: { provider: openai, model: m } }',
  'agents:',
  '  planner: { prompt: p.md, model: gpt, inputs: [task.q, reviewer] }',
  '  worker: { prompt: p.md, model: gpt, inputs: [planner] }',
  '  reviewer: { prompt: p.md, model: gpt, inputs: [worker] }',
  'output: reviewer',
  '',
].join('\n');

describe('agentchord validate', () => {
  test('the example is ok: exit 0 and a one-line summary', async () => {
    const { code, lines } = await validate(repoPath('examples/hello'));
    assert.equal(code, 0);
    assert.deepEqual(lines, [`${shown(repoPath('examples/hello/agentchord.yaml'))}: ok — 3 agents, output responder`]);
  });

  test('a cycle: exit 1, names the agents and the position of the closing input', async () => {
    const dir = folderWith({ 'agentchord.yaml': CYCLE, 'p.md': 'x {{task.q}}' });
    try {
      const { code, lines } = await validate(dir);
      assert.equal(code, 1);
      assert.deepEqual(lines, [
        `${join(dir, 'agentchord.yaml')}:6:50: cycle: reviewer -> planner -> worker -> reviewer ` +
          `(agent 'reviewer' takes input from 'worker', which closes the loop)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('broken YAML: file:line:col of the syntax error', async () => {
    const dir = folderWith({ 'agentchord.yaml': 'version: 1\nagents:\n  a: { prompt: p.md\noutput: a\n' });
    try {
      const { code, lines } = await validate(join(dir, 'agentchord.yaml'));
      assert.equal(code, 1);
      assert.ok(lines.length >= 1);
      assert.match(lines[0], new RegExp(`^${escape(join(dir, 'agentchord.yaml'))}:4:1: YAML: `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a folder without a top-level system file: every one below it is checked', async () => {
    const valid = 'version: 1\nmodels: { m: { provider: openai, model: x } }\nagents: { a: { prompt: p.md, model: m } }\noutput: a\n';
    const dir = folderWith({ 'one/agentchord.yaml': valid, 'one/p.md': 'x', 'two/agentchord.yaml': valid, 'node_modules/x/agentchord.yaml': 'bad: [' });
    try {
      const { code, lines } = await validate(dir);
      assert.equal(code, 1);
      assert.deepEqual(lines, [
        `${join(dir, 'one/agentchord.yaml')}: ok — 1 agent, output a`,
        `${join(dir, 'two/agentchord.yaml')}:3:24: agent 'a': prompt file 'p.md' not found`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--json prints problems and summaries', async () => {
    const dir = folderWith({ 'agentchord.yaml': CYCLE, 'p.md': 'x' });
    try {
      const { code, lines } = await validate(dir, '--json');
      assert.equal(code, 1);
      const result = JSON.parse(lines.join('\n'));
      assert.equal(result.ok, false);
      assert.equal(result.files.length, 1);
      assert.equal(result.files[0].file, join(dir, 'agentchord.yaml'));
      assert.deepEqual(
        result.files[0].problems.map((p: { line: number; column: number; severity: string }) => [p.line, p.column, p.severity]),
        [[6, 50, 'error']],
      );
      const ok = JSON.parse((await validate(repoPath('examples/hello'), '--json')).lines.join('\n'));
      assert.deepEqual(ok.files[0].summary, { name: 'hello', agents: 3, output: 'responder', order: ['extractor', 'checker', 'responder'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing file is a problem at 1:1', async () => {
    const missing = join(tmpdir(), 'agentchord-no-such-dir', 'agentchord.yaml');
    const { code, lines } = await validate(missing);
    assert.equal(code, 1);
    assert.deepEqual(lines, [`${missing}:1:1: file not found`]);
  });

  test('bad usage throws a CliError with exit code 2; an empty folder is exit 1', async () => {
    await assert.rejects(validate('--jsn'), (e: unknown) => e instanceof CliError && e.exitCode === 2 && /[Uu]nknown option '--jsn'/.test(e.message));
    await assert.rejects(validate('a', 'b'), (e: unknown) => e instanceof CliError && e.exitCode === 2);
    const empty = folderWith({});
    try {
      await assert.rejects(validate(empty), (e: unknown) => e instanceof CliError && e.exitCode === 1 && /no agentchord\.yaml found/.test(e.message));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('agentchord validate as a process', () => {
  test('the real CLI entry: exit codes and output', async () => {
    // Bundle the CLI entry afresh (as scripts/build.mjs does), so the test does not depend on a stale dist/.
    const dir = folderWith({ 'agentchord.yaml': CYCLE, 'p.md': 'x' });
    try {
      const cli = join(dir, 'cli.js');
      await build({
        entryPoints: [repoPath('src/cli/main.ts')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: cli,
        external: ['vscode', 'onnxruntime-node'],
        logLevel: 'silent',
      });
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [cli, 'validate', ...args], {
          cwd: repoPath(),
          encoding: 'utf8',
          env: { ...process.env, NODE_PATH: repoPath('node_modules'), ORT_DISABLE_TELEMETRY: '1' },
        });
      const ok = run('examples/hello');
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, 'examples/hello/agentchord.yaml: ok — 3 agents, output responder\n');
      const bad = run(dir);
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stdout, new RegExp(`^${escape(join(dir, 'agentchord.yaml'))}:6:50: cycle: reviewer -> planner -> worker -> reviewer `));
      const usage = run('--nope');
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, /Unknown option '--nope'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
