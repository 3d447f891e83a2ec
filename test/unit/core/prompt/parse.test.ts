import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromptFile, promptProblemsForFile, type PromptProblem } from '../../../../src/core/prompt';

/** Code, line and column of each problem: the part a user sees in the Problems panel. */
const where = (problems: PromptProblem[]) => problems.map((p) => [p.code, p.range.line, p.range.column]);

describe('parsePromptFile: front matter', () => {
  test('YAML front matter is parsed, with ranges, and the body starts after it', () => {
    const text = '---\ntitle: Planner\ntemperature: 0.2\ntags: [a, b]\n---\nYou plan trips.\n';
    const prompt = parsePromptFile(text);
    assert.deepEqual(prompt.frontMatter?.data, { title: 'Planner', temperature: 0.2, tags: ['a', 'b'] });
    assert.deepEqual(prompt.problems, []);
    assert.equal(prompt.body, 'You plan trips.\n');
    assert.equal(prompt.bodyOffset, text.indexOf('You'));
    const { range, contentRange } = prompt.frontMatter!;
    assert.deepEqual([range.start, range.end, range.line, range.column, range.endLine, range.endColumn], [0, prompt.bodyOffset, 1, 1, 6, 1]);
    assert.equal(text.slice(contentRange.start, contentRange.end), 'title: Planner\ntemperature: 0.2\ntags: [a, b]\n');
    assert.deepEqual([contentRange.line, contentRange.column], [2, 1]);
  });

  test('CRLF line endings, trailing spaces on the delimiters and an empty front matter', () => {
    const prompt = parsePromptFile('--- \r\n---\r\nHello {{name}}\r\n');
    assert.deepEqual(prompt.frontMatter?.data, {});
    assert.equal(prompt.body, 'Hello {{name}}\r\n');
    assert.deepEqual(prompt.placeholders.map((p) => [p.name, p.range.line, p.range.column]), [['name', 3, 7]]);
  });

  test('no front matter: a `---` that is not on the first line is Markdown', () => {
    const text = 'Intro\n---\nkey: value\n---\n';
    const prompt = parsePromptFile(text);
    assert.equal(prompt.frontMatter, undefined);
    assert.equal(prompt.body, text);
    assert.equal(prompt.bodyOffset, 0);
  });

  test('a YAML error is a problem at its line and column in the file', () => {
    const text = '---\nname: ok\nbad: [1, 2\nother: x\n---\nBody\n';
    const prompt = parsePromptFile(text);
    const yaml = prompt.problems.filter((p) => p.code === 'yaml');
    assert.ok(yaml.length > 0, 'the unclosed flow sequence is reported');
    assert.equal(yaml[0].severity, 'error');
    assert.match(yaml[0].message, /^Front matter YAML: /);
    // Every reported position lies inside the YAML text (lines 2-4), never in the body.
    for (const p of yaml) assert.ok(p.range.line >= 2 && p.range.line <= 4, `line ${p.range.line}`);
    assert.deepEqual(prompt.frontMatter?.data, {});
    assert.equal(prompt.body, 'Body\n');
  });

  test('a YAML error points at the offending line and column', () => {
    // Tabs may not indent YAML: the error is on line 3, where the tab is.
    const prompt = parsePromptFile('---\nname: ok\n\tindented: no\n---\n');
    const first = prompt.problems.find((p) => p.code === 'yaml');
    assert.ok(first);
    assert.deepEqual([first.range.line, first.range.column], [3, 1]);
  });

  test('a YAML error found only when building values (alias before its anchor) is reported, not thrown', () => {
    const prompt = parsePromptFile('---\na: *later\nb: &later 1\n---\nBody');
    assert.deepEqual(where(prompt.problems), [['yaml', 2, 1]]);
    assert.match(prompt.problems[0].message, /alias/i);
    assert.deepEqual(prompt.frontMatter?.data, {});
  });

  test('front matter that is not a mapping is reported', () => {
    const prompt = parsePromptFile('---\n- a\n- b\n---\nBody');
    assert.deepEqual(where(prompt.problems), [['front-matter-not-mapping', 2, 1]]);
    assert.deepEqual(prompt.frontMatter?.data, {});
  });

  test('front matter that is never closed is reported, and the whole file is the body', () => {
    const text = '---\ntitle: x\nBody {{a}}\n';
    const prompt = parsePromptFile(text);
    assert.deepEqual(where(prompt.problems), [['unclosed-front-matter', 1, 1]]);
    assert.equal(prompt.frontMatter, undefined);
    assert.equal(prompt.body, text);
  });

  test('placeholders and tags inside the front matter are not part of the body', () => {
    const prompt = parsePromptFile('---\nnote: "{{x}} <DONT_CHANGE>"\n---\n{{y}}\n');
    assert.deepEqual(prompt.placeholders.map((p) => p.name), ['y']);
    assert.deepEqual(prompt.frozenRegions, []);
    assert.deepEqual(prompt.problems, []);
  });
});

describe('parsePromptFile: placeholders', () => {
  test('plain, spaced and dotted names, with exact ranges', () => {
    const text = 'Q: {{question}}\nContext: {{ task.context }} and {{agent_1.output}}.\n';
    const prompt = parsePromptFile(text);
    assert.deepEqual(
      prompt.placeholders.map((p) => [p.name, text.slice(p.range.start, p.range.end), p.range.line, p.range.column, p.range.endColumn]),
      [
        ['question', '{{question}}', 1, 4, 16],
        ['task.context', '{{ task.context }}', 2, 10, 28],
        ['agent_1.output', '{{agent_1.output}}', 2, 33, 51],
      ],
    );
    assert.deepEqual(prompt.problems, []);
  });

  test('an unclosed `{{` is an error at its line and column', () => {
    const prompt = parsePromptFile('line one\nAsk {{question\n}} later {{ok}}');
    assert.deepEqual(where(prompt.problems), [['unclosed-placeholder', 2, 5]]);
    assert.equal(prompt.problems[0].severity, 'error');
    assert.deepEqual(prompt.placeholders.map((p) => p.name), ['ok']);
  });

  test('`{{...}}` with something other than a name is a warning and not a placeholder', () => {
    const prompt = parsePromptFile('Use {{ two words }} or {{1abc}} but {{fine}}');
    assert.deepEqual(where(prompt.problems), [
      ['invalid-placeholder-name', 1, 5],
      ['invalid-placeholder-name', 1, 24],
    ]);
    assert.ok(prompt.problems.every((p) => p.severity === 'warning'));
    assert.deepEqual(prompt.placeholders.map((p) => p.name), ['fine']);
  });
});

describe('parsePromptFile: frozen regions', () => {
  test('a region spanning lines: ranges of the whole region and of the inner text', () => {
    const text = '# Task\n<DONT_CHANGE>\nAnswer in JSON.\n</DONT_CHANGE>\nBe brief.\n';
    const [region, ...rest] = parsePromptFile(text).frozenRegions;
    assert.equal(rest.length, 0);
    assert.equal(region.source, '<DONT_CHANGE>\nAnswer in JSON.\n</DONT_CHANGE>');
    assert.equal(region.inner, '\nAnswer in JSON.\n');
    assert.equal(text.slice(region.range.start, region.range.end), region.source);
    assert.equal(text.slice(region.innerRange.start, region.innerRange.end), region.inner);
    assert.deepEqual([region.range.line, region.range.column, region.range.endLine, region.range.endColumn], [2, 1, 4, 15]);
    assert.deepEqual([region.innerRange.line, region.innerRange.column, region.innerRange.endLine, region.innerRange.endColumn], [2, 14, 4, 1]);
  });

  test('several regions on one line, with a placeholder inside', () => {
    const text = 'a <DONT_CHANGE>x {{v}}</DONT_CHANGE> b <DONT_CHANGE>y</DONT_CHANGE>';
    const prompt = parsePromptFile(text);
    assert.deepEqual(prompt.frozenRegions.map((r) => r.inner), ['x {{v}}', 'y']);
    assert.deepEqual(prompt.placeholders.map((p) => p.name), ['v']);
    assert.deepEqual(prompt.problems, []);
  });

  test('unclosed, stray and nested tags are errors at their line and column', () => {
    const text = [
      'intro </DONT_CHANGE>', // stray close: line 1, column 7
      '<DONT_CHANGE> kept', // opens a region
      '  <DONT_CHANGE> nested', // nested open: line 3, column 3
      '</DONT_CHANGE>', // closes the region opened on line 2
      'tail <DONT_CHANGE> never closed', // unclosed: line 5, column 6
    ].join('\n');
    const prompt = parsePromptFile(text);
    assert.deepEqual(where(prompt.problems), [
      ['stray-frozen-close', 1, 7],
      ['nested-frozen-open', 3, 3],
      ['unclosed-frozen-region', 5, 6],
    ]);
    assert.ok(prompt.problems.every((p) => p.severity === 'error'));
    assert.match(prompt.problems[1].message, /line 2, column 1/);
    assert.equal(prompt.frozenRegions.length, 1);
    assert.equal(prompt.frozenRegions[0].range.line, 2);
    assert.equal(prompt.frozenRegions[0].range.endLine, 4);
    const unclosed = prompt.problems[2].range;
    assert.equal(text.slice(unclosed.start, unclosed.end), '<DONT_CHANGE>');
  });

  test('positions are counted in the whole file, front matter included', () => {
    const text = '---\na: 1\n---\n\nx </DONT_CHANGE>';
    const prompt = parsePromptFile(text);
    assert.deepEqual(where(prompt.problems), [['stray-frozen-close', 5, 3]]);
    assert.equal(prompt.problems[0].range.start, text.indexOf('</'));
  });
});

test('promptProblemsForFile names the file and keeps 1-based positions', () => {
  const prompt = parsePromptFile('x\n  {{oops');
  assert.deepEqual(promptProblemsForFile('prompts/planner.chord.md', prompt.problems), [
    {
      file: 'prompts/planner.chord.md',
      line: 2,
      column: 3,
      endLine: 2,
      endColumn: 5,
      message: prompt.problems[0].message,
      severity: 'error',
    },
  ]);
});
