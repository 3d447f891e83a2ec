import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPrompt } from '../../../../src/core/prompt';

describe('renderPrompt', () => {
  test('fills placeholders, strips the front matter and removes frozen tags but keeps their text', () => {
    const text = [
      '---',
      'title: Answerer',
      '---',
      'Question: {{ task.question }}',
      '<DONT_CHANGE>',
      'Answer with one word, about {{topic}}.',
      '</DONT_CHANGE>',
      'Notes: <DONT_CHANGE>keep</DONT_CHANGE> {{topic}}',
      '',
    ].join('\n');
    const out = renderPrompt(text, { 'task.question': 'Where is Paris?', topic: 'geography' });
    assert.deepEqual(out.missing, []);
    assert.equal(
      out.text,
      ['Question: Where is Paris?', 'Answer with one word, about geography.', 'Notes: keep geography', ''].join('\n'),
    );
  });

  test('placeholders without a value stay as written and are listed once, in order', () => {
    const out = renderPrompt('{{b}} {{a}} {{ b }} {{c}}', { c: 'C' });
    assert.equal(out.text, '{{b}} {{a}} {{ b }} C');
    assert.deepEqual(out.missing, ['b', 'a']);
  });

  test('values are inserted literally and never expanded again', () => {
    const out = renderPrompt('A: {{a}} B: {{b}}', { a: '{{b}} <DONT_CHANGE>', b: '$& $1' });
    assert.equal(out.text, 'A: {{b}} <DONT_CHANGE> B: $& $1');
    assert.deepEqual(out.missing, []);
  });

  test('invalid placeholders and stray tags: text kept, tags removed', () => {
    const out = renderPrompt('{{ not a name }}\n</DONT_CHANGE>\nend', {});
    assert.equal(out.text, '{{ not a name }}\nend');
    assert.deepEqual(out.missing, []);
  });

  test('CRLF text: a tag alone on its line removes the whole line', () => {
    const out = renderPrompt('a\r\n<DONT_CHANGE>\r\nb\r\n</DONT_CHANGE>', {});
    assert.equal(out.text, 'a\r\nb\r\n');
  });

  test('a file without front matter renders whole', () => {
    assert.equal(renderPrompt('Just text.', {}).text, 'Just text.');
  });
});
