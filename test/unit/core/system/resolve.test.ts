/** A valid system file resolves to a SystemConfig: absolute paths, defaults, topological order, source ranges. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { DIR, FILE, hostWith, listProblems, load, PROMPTS, VALID, withLine } from './helpers';

describe('resolved system', () => {
  test('defaults are applied and paths are absolute', () => {
    const result = load(VALID);
    assert.deepEqual(listProblems(result), []);
    const system = result.system!;
    assert.equal(system.file, FILE);
    assert.equal(system.dir, DIR);
    assert.equal(system.name, 'support-desk'); // the folder name when `name` is absent
    assert.equal(system.output, 'writer');
    assert.deepEqual(system.attribution, { strategy: 'mean_l1_norm', topK: 1 });
    assert.deepEqual(system.optimizer, {
      kind: 'warnings', // no optimizer model
      batchSize: 3,
      steps: 10,
      acceptanceTest: true,
      budget: {},
      maxPromptChars: 8000,
    });
    assert.deepEqual(system.datasets, {});
    assert.equal(system.loss, undefined);
    assert.equal(system.toolsModule, undefined);
    assert.equal(system.environment, undefined);

    const researcher = system.agents[0];
    assert.equal(researcher.name, 'researcher');
    assert.equal(researcher.promptFile, resolve(DIR, 'prompts/researcher.chord.md'));
    assert.equal(researcher.maxToolSteps, 8);
    assert.deepEqual(researcher.tools, []);
    assert.deepEqual(researcher.inputs, [{ kind: 'task', field: 'question', range: { line: 9, column: 14, endLine: 9, endColumn: 27 } }]);
    assert.deepEqual(researcher.range, { line: 6, column: 3, endLine: 9, endColumn: 28 });
    assert.deepEqual(
      system.agents[2].inputs.map((i) => (i.kind === 'agent' ? i.agent : i.field)),
      ['researcher', 'critic'],
    );

    const gpt = system.models.gpt;
    assert.equal(gpt.kind, 'endpoint');
    assert.deepEqual({ ...gpt, range: undefined }, {
      kind: 'endpoint',
      name: 'gpt',
      baseUrl: 'https://api.openai.com/v1',
      model: 'gpt-4o-mini',
      apiKeyEnv: 'OPENAI_API_KEY',
      parameters: {},
      range: undefined,
    });
    assert.deepEqual(gpt.range, { line: 3, column: 3, endLine: 3, endColumn: 75 });
    const tiny = system.models.tiny;
    assert.ok(tiny.kind === 'local');
    assert.equal(tiny.path, resolve(DIR, 'models/tiny'));
    assert.equal(tiny.device, 'auto');
  });

  test('order is topological, ties broken by file order', () => {
    // File order: writer, critic, researcher, summary, intro. Data flow: researcher -> critic -> writer,
    // intro -> writer, summary reads nothing and feeds writer.
    const result = load([
      'version: 1',
      'models: { gpt: { provider: openai, model: m } }',
      'agents:',
      '  writer: { prompt: p.md, model: gpt, inputs: [critic, summary, intro] }',
      '  critic: { prompt: p.md, model: gpt, inputs: [researcher] }',
      '  researcher: { prompt: p.md, model: gpt, inputs: [task.q] }',
      '  summary: { prompt: p.md, model: gpt }',
      '  intro: { prompt: p.md, model: gpt, inputs: [researcher] }',
      'output: writer',
    ], hostWith('p.md'));
    assert.deepEqual(listProblems(result), []);
    assert.deepEqual(result.system!.order, ['researcher', 'critic', 'summary', 'intro', 'writer']);
    assert.deepEqual(result.system!.agents.map((a) => a.name), ['writer', 'critic', 'researcher', 'summary', 'intro']);
  });

  test('every section, fully written, resolves', () => {
    const lines = [
      ...VALID.slice(0, 17).map((l) => (l === '    inputs: [task.question]' ? '    inputs: [task.question]\n    tools: [lookup_order]\n    maxToolSteps: 5\n    description: Finds facts.' : l)),
      'name: desk',
      'description: Answers tickets.',
      'output: writer',
      'tools: { module: tools/index.ts }',
      'attribution: { model: tiny, strategy: max_grad_input, topK: 2 }',
      'datasets: { train: data/train.jsonl, validation: data/val.jsonl, test: data/test.jsonl }',
      'loss: { builtin: exact_match, options: { reference: answer } }',
      'optimizer:',
      '  model: gpt',
      '  batchSize: 4',
      '  steps: 2',
      '  acceptanceTest: false',
      '  maxPromptChars: 4000',
      '  budget: { maxCalls: 100, maxTokens: 50000, maxCostUsd: 2.5 }',
      'environment: { module: env/user.ts, maxTurns: 12, options: { persona: terse } }',
    ];
    const files = [...PROMPTS, 'models/tiny', 'tools/index.ts', 'data/train.jsonl', 'data/val.jsonl', 'data/test.jsonl', 'env/user.ts'];
    const result = load(lines, hostWith(...files));
    assert.deepEqual(listProblems(result), []);
    const s = result.system!;
    assert.equal(s.name, 'desk');
    assert.equal(s.description, 'Answers tickets.');
    assert.equal(s.toolsModule, resolve(DIR, 'tools/index.ts'));
    assert.deepEqual(s.attribution, { model: 'tiny', strategy: 'max_grad_input', topK: 2 });
    assert.deepEqual(s.datasets, {
      train: resolve(DIR, 'data/train.jsonl'),
      validation: resolve(DIR, 'data/val.jsonl'),
      test: resolve(DIR, 'data/test.jsonl'),
    });
    assert.deepEqual(s.loss, { kind: 'builtin', name: 'exact_match', options: { reference: 'answer' } });
    assert.deepEqual(s.optimizer, {
      kind: 'llm', // a model is set
      model: 'gpt',
      batchSize: 4,
      steps: 2,
      acceptanceTest: false,
      budget: { maxCalls: 100, maxTokens: 50000, maxCostUsd: 2.5 },
      maxPromptChars: 4000,
    });
    assert.deepEqual(s.environment, { module: resolve(DIR, 'env/user.ts'), maxTurns: 12, options: { persona: 'terse' } });
    const researcher = s.agents[0];
    assert.deepEqual(researcher.tools, ['lookup_order']);
    assert.equal(researcher.maxToolSteps, 5);
    assert.equal(researcher.description, 'Finds facts.');
  });

  test('a loss template resolves to an absolute file', () => {
    const result = load([...VALID, 'loss: { template: losses/judge.md }'], hostWith(...PROMPTS, 'models/tiny', 'losses/judge.md'));
    assert.deepEqual(result.system!.loss, { kind: 'template', file: resolve(DIR, 'losses/judge.md') });
  });

  test('the text is what counts, not the disk: unsaved edits are validated', () => {
    // The host decides which files exist; FILE does not exist on disk at all.
    assert.ok(load(VALID).system);
    assert.equal(load(VALID, hostWith()).system, undefined);
  });
});

describe('time-outs, retries and prices (issue 12)', () => {
  test('endpoint timeoutSeconds, maxRetries and price resolve; user-code time-outs get their defaults or the file values', () => {
    const plain = load(VALID).system!;
    assert.deepEqual(plain.timeouts, { toolSeconds: 120, environmentSeconds: 600, lossSeconds: 600 });
    const result = load(
      [
        ...withLine(3, '  gpt: { provider: openai, model: my-vllm, timeoutSeconds: 30, maxRetries: 0, price: { inputPerMTok: 0.5, outputPerMTok: 1.5 } }'),
        'tools: { module: tools.ts, timeoutSeconds: 5 }',
        'loss: { builtin: exact_match, timeoutSeconds: 9 }',
        'environment: { module: env.ts, timeoutSeconds: 2.5 }',
      ],
      hostWith(...PROMPTS, 'models/tiny', 'tools.ts', 'env.ts'),
    );
    assert.deepEqual(listProblems(result), []);
    const s = result.system!;
    const gpt = s.models.gpt;
    assert.ok(gpt.kind === 'endpoint');
    assert.equal(gpt.timeoutSeconds, 30);
    assert.equal(gpt.maxRetries, 0);
    assert.deepEqual(gpt.price, { inputPerMTok: 0.5, outputPerMTok: 1.5 });
    assert.deepEqual(s.timeouts, { toolSeconds: 5, environmentSeconds: 2.5, lossSeconds: 9 });
  });

  test('bad values are errors at the field', () => {
    const result = load([
      ...withLine(3, '  gpt: { provider: openai, model: m, timeoutSeconds: 0, maxRetries: 1.5, price: { inputPerMTok: -1 } }'),
      'tools: { module: tools.ts, timeoutSeconds: -3 }',
    ], hostWith(...PROMPTS, 'models/tiny', 'tools.ts'));
    assert.equal(result.system, undefined);
    const text = listProblems(result).join('\n');
    assert.match(text, /timeoutSeconds/);
    assert.match(text, /maxRetries/);
    assert.match(text, /inputPerMTok|outputPerMTok/);
    assert.match(text, /^19:\d+-\S+ error .*timeoutSeconds/m, 'the tools time-out is reported on its line');
  });
});
