/** The system-file fields behind the blame demo: replay models, per-agent label, input format and optimize. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectProblems, listProblems, load, withLine } from '../../core/system/helpers';

/** VALID with a replay model, a labelled researcher on it, and a writer reading lines. */
const BLAME = [
  'version: 1',
  'models:',
  '  gpt: { provider: openai, model: gpt-4o-mini, apiKeyEnv: OPENAI_API_KEY }',
  '  reports: { provider: replay, field: reports }',
  'agents:',
  '  researcher:',
  '    prompt: prompts/researcher.chord.md',
  '    label: Researcher',
  '    model: reports',
  '    inputs: [task.question]',
  '  critic:',
  '    prompt: prompts/critic.chord.md',
  '    model: gpt',
  '    inputs: [researcher, task.question]',
  '  writer:',
  '    prompt: prompts/writer.chord.md',
  '    model: gpt',
  '    inputs: [researcher, critic]',
  '    input: { format: lines, template: "{{label}} says: {{content}}", separator: "\\n" }',
  '    optimize: false',
  'output: writer',
];

describe('blame fields of the system file', () => {
  test('replay model, label, lines format and optimize are read', () => {
    const result = load(BLAME);
    assert.deepEqual(listProblems(result), []);
    const system = result.system!;
    assert.deepEqual(system.models.reports, { ...system.models.reports, kind: 'replay', field: 'reports' });
    const [researcher, critic, writer] = system.agents;
    assert.equal(researcher.label, 'Researcher');
    assert.equal(critic.label, 'critic', 'label defaults to the agent name');
    assert.deepEqual(critic.input, { format: 'blocks' });
    assert.equal(critic.optimize, true);
    assert.deepEqual(writer.input, { format: 'lines', template: '{{label}} says: {{content}}', separator: '\n' });
    assert.equal(writer.optimize, false);
  });

  test('lines format defaults: "{{label}}: {{content}}" joined by newlines; replay field defaults to replies', () => {
    const result = load(withLine(17, '    inputs: [researcher, critic]', '    input: { format: lines }'));
    assert.deepEqual(result.system!.agents[2].input, { format: 'lines', template: '{{label}}: {{content}}', separator: '\n' });
    const replay = load(withLine(4, '  tiny: { provider: replay }'));
    assert.equal(replay.system!.models.tiny.kind === 'replay' && replay.system!.models.tiny.field, 'replies');
  });

  test('bad values are reported at the field', () => {
    expectProblems(load(withLine(17, '    inputs: [researcher, critic]', '    input: { format: table }')), [['18:22', /agents\.writer\.input\.format: "table" is not one of the allowed values: blocks, lines/]]);
    expectProblems(load(withLine(17, '    inputs: [researcher, critic]', '    input: { format: lines, template: "{{label}}" }')), [['18:39', /input.template must contain \{\{content\}\}/]]);
    expectProblems(load(withLine(4, '  tiny: { provider: replay, path: x }')), [['4:29', /unknown field 'path' in model 'tiny'; allowed here: provider, field/]]);
    expectProblems(load(withLine(8, '    model: reports', '    tools: [search]').map((l, i) => (i === 3 ? '  reports: { provider: replay }' : l))), [
      ['9:12', /runs on replay model 'reports', which replies from the task and cannot call tools/],
      ['9:12', /no tools module is set/],
    ]);
  });
});
