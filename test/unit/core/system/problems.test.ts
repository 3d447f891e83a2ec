/** Each kind of problem the loader reports, at its exact line:column. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectProblems, hostWith, listProblems, load, PROMPTS, VALID, withLine } from './helpers';

describe('system file problems', () => {
  test('the valid base system has no problems', () => {
    const result = load(VALID);
    assert.deepEqual(listProblems(result), []);
    assert.ok(result.system);
  });

  test('YAML syntax error: position from the parser, only syntax reported', () => {
    // The parser may add follow-up errors after the first one; all are syntax errors, no field errors.
    const result = load(withLine(9, '    inputs: [task.question', '    tools: 3'));
    const first = result.problems[0];
    assert.equal(`${first.line}:${first.column}`, '10:5');
    assert.match(first.message, /^YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/);
    assert.ok(result.problems.every((p) => p.message.startsWith('YAML: ') && p.severity === 'error'));
    assert.equal(result.system, undefined);
  });

  test('YAML: a tab used as indentation', () => {
    const result = load(withLine(8, '\tmodel: gpt'));
    assert.deepEqual(listProblems(result)[0], '8:1-8:2 error YAML: Tabs are not allowed as indentation');
  });

  test('YAML: an alias with no anchor', () => {
    expectProblems(load(withLine(8, '    model: *gpt')), [['8:12', /unknown alias '\*gpt'/]]);
  });

  test('YAML: two documents in one file', () => {
    expectProblems(load([...VALID, '---', 'version: 1']), [['19:1', /^YAML: a system file holds one YAML document: remove the second '---'$/]]);
  });

  test('YAML: an alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd']]) bomb.push(`${name}: &${name} [${Array(10).fill('*' + prev).join(', ')}]`);
    expectProblems(load(bomb), [['1:1', /^YAML: Excessive alias count/]]);
  });

  test('unknown field: names the field and where it is allowed', () => {
    expectProblems(load(withLine(8, '    model: gpt', '    temprature: 0')), [
      ['9:5', /^unknown field 'temprature' in agent 'researcher'; allowed here: prompt, model, inputs, tools, maxToolSteps, description, label, input, optimize$/],
    ]);
  });

  test('an unknown field named like a built-in object property', () => {
    expectProblems(load([...VALID, 'constructor: x']), [['19:1', /^unknown field 'constructor' at the top level; allowed here: version, name/]]);
  });

  test('unknown top-level field', () => {
    expectProblems(load([...VALID, 'agent: writer']), [['19:1', /^unknown field 'agent' at the top level; allowed here: version, name/]]);
  });

  test('an API key in the file is refused with a hint', () => {
    expectProblems(load(withLine(3, '  gpt: { provider: openai, model: gpt-4o-mini, apiKey: sk-123 }')), [
      ['3:48', /unknown field 'apiKey' in model 'gpt'; never put an API key in the file/],
    ]);
    expectProblems(load(withLine(3, '  gpt: { provider: openai, model: gpt-4o-mini, apiKeyEnv: sk-123 }')), [
      ['3:59', /^models\.gpt\.apiKeyEnv: this looks like a key, not a variable name; apiKeyEnv is the NAME of an environment variable/],
    ]);
  });

  test('wrong types name the field, the expected and the actual type', () => {
    expectProblems(load(withLine(9, '    inputs: task.question', '    maxToolSteps: many')), [
      ['9:13', /^agents\.researcher\.inputs must be a list, got "task\.question"$/],
      ['10:19', /^agents\.researcher\.maxToolSteps must be an integer, got "many"$/],
    ]);
  });

  test('a file that is not a mapping', () => {
    expectProblems(load(['- just', '- a list']), [['1:1', /^the system file must be a YAML mapping/]]);
    expectProblems(load([]), [['1:1', /^the system file must be a YAML mapping/]]);
  });

  test('missing required fields point at the entry that lacks them', () => {
    expectProblems(load(withLine(8, '    inputs: []').filter((l) => l !== '    inputs: [task.question]')), [
      ['6:3', /^agent 'researcher': missing required field 'model'$/],
    ]);
    expectProblems(load(VALID.slice(0, 17)), [['1:1', /^missing required top-level field 'output'$/]]);
  });

  test('version must be 1', () => {
    expectProblems(load(withLine(1, 'version: 2')), [['1:10', /^version must be 1, got 2$/]]);
  });

  test('an input naming an unknown agent', () => {
    expectProblems(load(withLine(17, '    inputs: [researcher, critc]')), [
      // critic now feeds nobody on the way to the output:
      ['10:3', /^agent 'critic' does not lead to the output agent 'writer'/],
      ['17:26', /^agent 'writer': input 'critc' is not an agent of this system \(agents: researcher, critic, writer\); to read a task field, write 'task\.critc'$/],
    ]);
  });

  test('names of built-in object properties are not agents or models', () => {
    expectProblems(load(withLine(17, '    inputs: [researcher, critic, constructor]').map((l) => l.replace('model: gpt', 'model: toString'))), [
      ['8:12', /^agent 'researcher': unknown model 'toString'/],
      ['12:12', /^agent 'critic': unknown model 'toString'/],
      ['16:12', /^agent 'writer': unknown model 'toString'/],
      ['17:34', /^agent 'writer': input 'constructor' is not an agent/],
    ]);
  });

  test('a malformed input entry', () => {
    expectProblems(load(withLine(9, '    inputs: [task question]')), [['9:14', /^agents\.researcher\.inputs\[0\]: an input is an agent name or task\.<field>, got "task question"$/]]);
  });

  test('an input listed twice points at the repeat', () => {
    expectProblems(load(withLine(17, '    inputs: [researcher, critic, researcher]')), [
      ['17:34', /^agents\.writer\.inputs: "researcher" is listed twice$/],
    ]);
  });

  test('a cycle names its agents in order and points at the input that closes it', () => {
    const result = load([
      'version: 1',
      'models: { gpt: { provider: openai, model: m } }',
      'agents:',
      '  a: { prompt: prompts/researcher.chord.md, model: gpt, inputs: [c, task.x] }', // 4
      '  b: { prompt: prompts/critic.chord.md, model: gpt, inputs: [a] }', //            5
      '  c: { prompt: prompts/writer.chord.md, model: gpt, inputs: [b] }', //            6
      '  d: { prompt: prompts/writer.chord.md, model: gpt, inputs: [c] }', //            7
      'output: d',
    ]);
    expectProblems(result, [['6:62', /^cycle: c -> a -> b -> c \(agent 'c' takes input from 'b', which closes the loop\)$/]]);
    assert.equal(result.problems[0].endColumn, 63);
  });

  test('an agent reading its own output is a cycle of one', () => {
    expectProblems(load(withLine(9, '    inputs: [task.question, researcher]')), [['9:29', /^cycle: researcher -> researcher /]]);
  });

  test('two separate cycles are both reported', () => {
    const result = load([
      'version: 1',
      'models: { gpt: { provider: openai, model: m } }',
      'agents:',
      '  a: { prompt: prompts/critic.chord.md, model: gpt, inputs: [b] }',
      '  b: { prompt: prompts/critic.chord.md, model: gpt, inputs: [a] }', //  5: closes a <-> b
      '  c: { prompt: prompts/critic.chord.md, model: gpt, inputs: [c, b] }', // 6: self loop
      'output: c',
    ]);
    expectProblems(result, [
      ['5:62', /^cycle: b -> a -> b /],
      ['6:62', /^cycle: c -> c /],
    ]);
  });

  test('missing files, each named as written', () => {
    const lines = [
      ...VALID,
      'tools: { module: tools/index.ts }',
      'datasets: { train: data/train.jsonl, validation: data/val.jsonl }',
      'loss: { template: losses/loss.md }',
      'environment: { module: env/user.ts }',
    ];
    const result = load(lines, hostWith('prompts/researcher.chord.md', 'prompts/writer.chord.md', 'data/train.jsonl'));
    expectProblems(result, [
      // Shaped like a repository id (org/name), so the message also says how to pull it.
      ['4:34', /^model 'tiny': model folder 'models\/tiny' not found, nor pulled into the model cache as a repository \(.*\); run: agentchord model pull models\/tiny$/, 'warning'],
      ['11:13', /^agent 'critic': prompt file 'prompts\/critic\.chord\.md' not found$/],
      ['19:18', /^tools\.module: file 'tools\/index\.ts' not found$/],
      ['20:50', /^datasets\.validation: file 'data\/val\.jsonl' not found$/],
      ['21:19', /^loss\.template: file 'losses\/loss\.md' not found$/],
      ['22:24', /^environment\.module: file 'env\/user\.ts' not found$/],
    ]);
  });

  test('a missing local model folder is only a warning: the system still loads', () => {
    const result = load(VALID, hostWith(...PROMPTS));
    expectProblems(result, [['4:34', /model folder 'models\/tiny' not found/, 'warning']]);
    assert.ok(result.system);
  });

  test('duplicate agent names', () => {
    const result = load([...VALID.slice(0, 17), '  critic:', '    prompt: prompts/critic.chord.md', '    model: gpt', 'output: writer']);
    expectProblems(result, [['18:3', /^duplicate agent 'critic' \(first defined at line 10\)$/]]);
  });

  test('duplicate keys elsewhere', () => {
    expectProblems(load([...VALID, 'version: 1']), [['19:1', /^duplicate key 'version' \(first defined at line 1\)$/]]);
    expectProblems(load(withLine(4, '  tiny: { provider: local, path: models/tiny }', '  gpt: { provider: openai, model: x }')), [
      ['5:3', /^duplicate model 'gpt' \(first defined at line 3\)$/],
    ]);
  });

  test('an agent from which the output cannot be reached', () => {
    const result = load([
      ...VALID.slice(0, 17),
      '  notes:',
      '    prompt: prompts/critic.chord.md',
      '    model: gpt',
      '    inputs: [writer]',
      'output: writer',
    ]);
    expectProblems(result, [['18:3', /^agent 'notes' does not lead to the output agent 'writer'/]]);
  });

  test('output naming an unknown agent', () => {
    expectProblems(load(withLine(18, 'output: writter')), [
      ['18:9', /^output 'writter' is not an agent of this system \(agents: researcher, critic, writer\)$/],
    ]);
  });

  test('unknown model references', () => {
    expectProblems(
      load([...withLine(12, '    model: gtp'), 'attribution: { model: big }', 'optimizer: { model: gpt5 }']),
      [
        ['12:12', /^agent 'critic': unknown model 'gtp'; defined models: gpt, tiny$/],
        ['19:23', /^attribution: unknown model 'big'; defined models: gpt, tiny$/],
        ['20:21', /^optimizer: unknown model 'gpt5'; defined models: gpt, tiny$/],
      ],
    );
  });

  test('the attribution model must be a local model', () => {
    expectProblems(load([...VALID, 'attribution: { model: gpt }']), [
      ['19:23', /^attribution\.model 'gpt' must be a 'provider: local' model .* but it is 'provider: openai'$/],
    ]);
    assert.deepEqual(listProblems(load([...VALID, 'attribution: { model: tiny }'])), []);
  });

  test('an invalid strategy lists the four valid ones', () => {
    expectProblems(load([...VALID, 'attribution: { model: tiny, strategy: mean_l2_norm }']), [
      ['19:39', /^attribution\.strategy: "mean_l2_norm" is not one of the allowed values: mean_l1_norm, max_l1_norm, mean_grad_input, max_grad_input$/],
    ]);
  });

  test('topK must be an integer >= 1', () => {
    expectProblems(load([...VALID, 'attribution: { topK: 0 }']), [['19:22', /^attribution\.topK must be an integer >= 1, got 0$/]]);
    expectProblems(load([...VALID, 'attribution: { topK: 1.5 }']), [['19:22', /^attribution\.topK must be an integer, got 1\.5$/]]);
  });

  test('optimizer kind llm without a model', () => {
    expectProblems(load([...VALID, 'optimizer:', '  kind: llm']), [['20:9', /^optimizer kind 'llm' needs 'optimizer\.model'/]]);
  });

  test('an unknown provider', () => {
    expectProblems(load(withLine(3, '  gpt: { provider: anthropic, model: x }')), [
      ['3:20', /^models\.gpt\.provider: "anthropic" is not one of the allowed values: openai, local, replay$/],
    ]);
  });

  test('loss needs exactly one of template or builtin', () => {
    expectProblems(load([...VALID, 'loss: { template: l.md, builtin: exact_match }'], hostWith(...PROMPTS, 'models/tiny', 'l.md')), [
      ['19:1', /^loss: give exactly one of 'template' \(a loss prompt file\) or 'builtin'/],
    ]);
    expectProblems(load([...VALID, 'loss: {}']), [['19:1', /^loss: give exactly one of/]]);
  });

  test('tools on an agent need a tools module', () => {
    expectProblems(load(withLine(9, '    inputs: [task.question]', '    tools: [lookup_order]')), [
      ['10:12', /^agent 'researcher' uses tools, but no tools module is set/],
    ]);
  });

  test('the agent name task is reserved', () => {
    const lines = withLine(14, '  task:').map((l) => (l === 'output: writer' ? 'output: task' : l));
    expectProblems(load(lines), [
      ['14:3', /^agent name 'task' is reserved/],
    ]);
  });

  test('an invalid agent name', () => {
    expectProblems(load(withLine(14, '  the writer:').map((l) => (l === 'output: writer' ? 'output: the writer' : l))), [
      ['14:3', /^invalid name 'the writer' in agents: an agent name starts with a letter/],
    ]);
  });

  test('problems are sorted by line and column', () => {
    const result = load([...withLine(12, '    model: nope'), 'attribution: { topK: 0 }', 'version2: x']);
    const positions = result.problems.map((p) => [p.line, p.column]);
    const sorted = [...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(positions, sorted);
    assert.equal(result.problems.length, 3);
  });
});
