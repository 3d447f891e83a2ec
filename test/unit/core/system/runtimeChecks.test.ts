/**
 * Validation covers what runs later (issue 12, item 4): losses and their options, the judge's and the optimizer's
 * models, endpoint URLs, pasted keys, and the prompt files themselves (front matter, frozen regions, placeholders).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../../../../src/cli/commands/validate';
import { loadSystemFile } from '../../../../src/core/system';
import type { LoadResult } from '../../../../src/core/system';
import { expectProblems, load, withLine } from './helpers';

/** A system folder with prompts/a.chord.md (and these files), its one agent reading task.q. */
function systemWith(yamlExtra: string[], files: Record<string, string> = {}, agentExtra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-checks-'));
  const all = { 'prompts/a.chord.md': 'Answer {{task.q}}.\n', ...files };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const yaml = ['version: 1', 'models: { r: { provider: replay } }', 'agents:', `  a: { prompt: prompts/a.chord.md, model: r, inputs: [task.q]${agentExtra} }`, 'output: a', ...yamlExtra, ''];
  writeFileSync(join(dir, 'agentchord.yaml'), yaml.join('\n'));
  return { dir, result: loadSystemFile(join(dir, 'agentchord.yaml')) };
}

const messages = (r: LoadResult) => r.problems.map((p) => `${p.line}:${p.column} ${p.message}`);

describe('losses', () => {
  test('an unknown builtin loss', () => {
    const { result } = systemWith(['loss: { builtin: exact_mach }']);
    assert.deepEqual(messages(result), ["6:18 loss.builtin: unknown loss 'exact_mach'; use one of exact_match, contains, json_field_match, recorded, llm_judge"]);
  });

  test('unknown or invalid options, a missing or unreadable template', () => {
    let { result } = systemWith(['loss: { builtin: contains, options: { refrence: answer, normalize: upper } }']);
    assert.deepEqual(messages(result), [
      '6:37 loss.options.normalize must be one of none, trim, lower, alnum',
      "6:39 loss.options: unknown option 'refrence' for builtin 'contains'; allowed: reference, normalize, fields, template, passScore",
    ]);
    ({ result } = systemWith(['loss: { builtin: contains, options: { template: losses/missing.md } }']));
    assert.deepEqual(messages(result), ["6:49 loss.options.template: file 'losses/missing.md' not found"]);
    ({ result } = systemWith(['loss: { builtin: contains, options: { template: losses/l.md } }'], { 'losses/l.md': '---\nmetric: [a\n---\nWrong: {{failures}}\n' }));
    assert.equal(result.system, undefined);
    assert.match(messages(result).join('\n'), /^6:49 loss\.options\.template: .*l\.md:[23]:\d+: Front matter YAML/m);
    ({ result } = systemWith(['loss: { template: losses/l.md }'], { 'losses/l.md': '---\nmetric: bogus\n---\nWrong.\n' }));
    assert.match(messages(result).join('\n'), /^6:19 loss\.template: .*l\.md: front matter "metric" must be one of exact_match, contains, json_field_match, recorded$/);
  });

  test('llm_judge needs a declared model', () => {
    let { result } = systemWith(['loss: { builtin: llm_judge, options: { criteria: be kind } }']);
    assert.deepEqual(messages(result), ["6:38 loss: builtin 'llm_judge' needs 'options.model': the model (under 'models') that judges the output"]);
    ({ result } = systemWith(['loss: { builtin: llm_judge, options: { model: judge } }']));
    assert.deepEqual(messages(result), ["6:47 loss.options.model (llm_judge): unknown model 'judge'; defined models: r"]);
  });
});

describe('models', () => {
  test('an optimizer model that is not declared', () => {
    expectProblems(load([...withLine(18, 'output: writer'), 'optimizer: { kind: llm, model: gpt5 }']), [
      ['19:32', /^optimizer: unknown model 'gpt5'; defined models: gpt, tiny$/],
    ]);
  });

  test('a baseUrl without a host', () => {
    for (const url of ['http://', 'https:///v1', 'http://user@:8080/v1']) {
      const r = load(withLine(3, `  gpt: { provider: openai, model: m, baseUrl: '${url}' }`));
      expectProblems(r, [['3:47', /^model 'gpt': baseUrl '.*' has no host \(e\.g\. http:\/\/localhost:8000\/v1\)$/]]);
    }
    expectProblems(load(withLine(3, "  gpt: { provider: openai, model: m, baseUrl: 'http://localhost:8000/v1' }")), []);
  });

  test('a key pasted into apiKeyEnv is never echoed back', () => {
    for (const key of ['sk-proj-Abc123def456GHI789jkl', 'hf_AbCdEfGh1234567890XyZ', 'AbCdEfGh1234567890XyZq']) {
      const r = load(withLine(3, `  gpt: { provider: openai, model: m, apiKeyEnv: ${key} }`));
      assert.equal(r.problems.length, 1, messages(r).join('\n'));
      assert.match(r.problems[0].message, /this looks like a key, not a variable name/);
      assert.ok(!r.problems[0].message.includes(key), r.problems[0].message);
      assert.ok(!r.problems[0].message.includes(key.slice(0, 12)), r.problems[0].message);
    }
  });
});

describe('prompt files', () => {
  test('broken front matter, an unclosed frozen region, an unknown placeholder: problems in the prompt file', () => {
    const prompt = ['---', 'tone: [formal', '---', 'Answer {{task.q}} for {{user}}.', '<DONT_CHANGE>Be brief.', ''].join('\n');
    const { dir, result } = systemWith([], { 'prompts/a.chord.md': prompt });
    const file = join(dir, 'prompts', 'a.chord.md');
    assert.equal(result.system, undefined);
    assert.ok(result.problems.every((p) => p.file === file), 'every problem is in the prompt file');
    const m = messages(result);
    assert.match(m[0], /^[23]:\d+ Front matter YAML/);
    assert.deepEqual(m.filter((x) => !/Front matter YAML/.test(x)), [
      "4:23 unknown placeholder {{user}} (agent 'a'): a prompt can use {{task.<field>}}; did you mean {{task.user}}?",
      '5:1 <DONT_CHANGE> is never closed by </DONT_CHANGE>.',
    ]);
  });

  test('{{input}} belongs to agents with input format lines, exactly once', () => {
    let { result } = systemWith([], { 'prompts/a.chord.md': '{{input}}\nAnswer:' });
    assert.match(messages(result).join('\n'), /^1:1 \{\{input\}\} is only filled for agents with input format 'lines'; agent 'a' has format 'blocks'/);
    ({ result } = systemWith([], { 'prompts/a.chord.md': 'Answer {{task.q}}:' }, ', input: { format: lines }'));
    assert.deepEqual(messages(result), ["4:16 agent 'a' has input format 'lines', so its prompt file must say {{input}} exactly once (where the input lines go); it says it 0 times"]);
    ({ result } = systemWith([], { 'prompts/a.chord.md': '{{input}}\nQ: {{task.q}}\nAnswer:' }, ', input: { format: lines }'));
    assert.deepEqual(messages(result), []);
  });

  test('agentchord validate prints the prompt file problems after the system file and exits 1', async () => {
    const { dir } = systemWith(['datasets: { train: data/missing.jsonl }'], { 'prompts/a.chord.md': 'Hi {{name}}.\n' });
    const chunks: string[] = [];
    const original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await validateCommand.run([dir]);
    } finally {
      process.stdout.write = original;
    }
    const lines = chunks.join('').split('\n').filter(Boolean);
    assert.equal(code, 1);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /agentchord\.yaml:6:20: datasets\.train: file 'data\/missing\.jsonl' not found$/);
    assert.match(lines[1], /prompts.a\.chord\.md:1:4: unknown placeholder \{\{name\}\}/);
  });
});
