import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frozenRegionsPreserved, parsePromptFile, restoreFrozenRegions } from '../../../../src/core/prompt';

const ORIGINAL = [
  '---',
  'title: Dialogue state tracker',
  '---',
  '# Role',
  'You track the user goal in a hotel booking dialogue.',
  '',
  '<DONT_CHANGE>',
  'Output format: a JSON object {"domain": {"slot": "value"}}.',
  '</DONT_CHANGE>',
  '',
  'Dialogue so far: {{dialogue}}',
  'Never invent values. <DONT_CHANGE>Use "dontcare" when the user has no preference.</DONT_CHANGE>',
  '',
].join('\n');
const FORMAT_REGION = '<DONT_CHANGE>\nOutput format: a JSON object {"domain": {"slot": "value"}}.\n</DONT_CHANGE>';
const DONTCARE_REGION = '<DONT_CHANGE>Use "dontcare" when the user has no preference.</DONT_CHANGE>';

/** Restoring must always give back every original region verbatim. */
function restoreAndCheck(updated: string) {
  const result = restoreFrozenRegions(ORIGINAL, updated);
  assert.deepEqual(frozenRegionsPreserved(ORIGINAL, result.text), { ok: true, missing: [] });
  assert.deepEqual(parsePromptFile(result.text).problems, [], 'the restored prompt is well-formed');
  return result;
}

describe('frozenRegionsPreserved', () => {
  test('an optimizer that only edits outside the regions passes', () => {
    const updated = ORIGINAL.replace('You track', 'You carefully track').replace('Never invent values.', 'Do not guess.');
    assert.deepEqual(frozenRegionsPreserved(ORIGINAL, updated), { ok: true, missing: [] });
  });

  test('a region rewritten inside its tags is detected', () => {
    const updated = ORIGINAL.replace('Output format: a JSON object', 'Output: JSON');
    assert.deepEqual(frozenRegionsPreserved(ORIGINAL, updated), { ok: false, missing: [FORMAT_REGION] });
  });

  test('dropped regions and stripped tags are detected', () => {
    const updated = ORIGINAL.replace(FORMAT_REGION, '').replace(DONTCARE_REGION, 'Use "dontcare" when the user has no preference.');
    assert.deepEqual(frozenRegionsPreserved(ORIGINAL, updated), { ok: false, missing: [FORMAT_REGION, DONTCARE_REGION] });
  });

  test('a region written twice must be kept twice', () => {
    const original = '<DONT_CHANGE>x</DONT_CHANGE> a <DONT_CHANGE>x</DONT_CHANGE>';
    assert.deepEqual(frozenRegionsPreserved(original, '<DONT_CHANGE>x</DONT_CHANGE> a'), {
      ok: false,
      missing: ['<DONT_CHANGE>x</DONT_CHANGE>'],
    });
    assert.equal(frozenRegionsPreserved(original, 'b <DONT_CHANGE>x</DONT_CHANGE><DONT_CHANGE>x</DONT_CHANGE>').ok, true);
  });

  test('the frozen text without its tags does not count as preserved', () => {
    assert.equal(frozenRegionsPreserved('<DONT_CHANGE>keep me</DONT_CHANGE>', 'keep me').ok, false);
  });
});

describe('restoreFrozenRegions', () => {
  test('a region the optimizer rewrote inside its tags is put back verbatim, in place', () => {
    const rewritten = ORIGINAL.replace('Output format: a JSON object {"domain": {"slot": "value"}}.', 'Reply in YAML, it is nicer.')
      .replace('You track', 'You precisely track');
    const { text, restored } = restoreAndCheck(rewritten);
    assert.deepEqual(restored, [FORMAT_REGION]);
    assert.equal(text, ORIGINAL.replace('You track', 'You precisely track'), 'only the frozen region changed back');
  });

  test('a dropped region goes back after the text that preceded it', () => {
    const dropped = ORIGINAL.replace(`${FORMAT_REGION}\n`, '').replace('Dialogue so far:', 'Conversation:');
    const { text, restored } = restoreAndCheck(dropped);
    assert.deepEqual(restored, [FORMAT_REGION]);
    assert.ok(text.includes(`hotel booking dialogue.\n\n${FORMAT_REGION}`), text);
  });

  test('tags stripped but the text kept: the text is wrapped again, not duplicated', () => {
    const stripped = ORIGINAL.replace(DONTCARE_REGION, 'Use "dontcare" when the user has no preference.');
    const { text, restored } = restoreAndCheck(stripped);
    assert.deepEqual(restored, [DONTCARE_REGION]);
    assert.equal(text, ORIGINAL);
  });

  test('when the text before is gone, the text after anchors the region', () => {
    const original = 'Alpha beta gamma.\n<DONT_CHANGE>FROZEN</DONT_CHANGE>\nDelta epsilon zeta.';
    const updated = 'Completely new opening.\nDelta epsilon zeta.';
    const { text } = restoreFrozenRegions(original, updated);
    assert.equal(text, 'Completely new opening.\n<DONT_CHANGE>FROZEN</DONT_CHANGE>\nDelta epsilon zeta.');
  });

  test('a region that opened the body goes back at the start of the body, after the front matter', () => {
    const original = '---\na: 1\n---\n<DONT_CHANGE>first</DONT_CHANGE> rest';
    const { text } = restoreFrozenRegions(original, '---\na: 1\n---\nnew rest');
    assert.equal(text, '---\na: 1\n---\n<DONT_CHANGE>first</DONT_CHANGE>new rest');
  });

  test('with no anchor left at all, the region is appended on its own line', () => {
    const original = 'Old text here.\n<DONT_CHANGE>F</DONT_CHANGE>\nOld ending here.';
    const { text, restored } = restoreFrozenRegions(original, 'Entirely different.');
    assert.equal(text, 'Entirely different.\n<DONT_CHANGE>F</DONT_CHANGE>\n');
    assert.deepEqual(restored, ['<DONT_CHANGE>F</DONT_CHANGE>']);
  });

  test('nothing to restore: the text comes back unchanged', () => {
    const updated = ORIGINAL.replace('# Role', '# Your role');
    assert.deepEqual(restoreFrozenRegions(ORIGINAL, updated), { text: updated, restored: [] });
  });

  test('a region whose close tag the optimizer dropped: the dangling tag goes, the region comes back, the next one stays', () => {
    const truncated = ORIGINAL.replace(FORMAT_REGION, '<DONT_CHANGE>\nOutput: YAML.\n');
    const { text, restored } = restoreAndCheck(truncated);
    assert.deepEqual(restored, [FORMAT_REGION]);
    assert.ok(text.includes(`hotel booking dialogue.\n\n${FORMAT_REGION}`), text);
    assert.ok(text.includes(`Never invent values. ${DONTCARE_REGION}`), 'the intact region was not touched');
    assert.ok(text.includes('Dialogue so far: {{dialogue}}'), 'no text outside the regions was lost');
  });

  test('stray tags the optimizer added are removed', () => {
    const updated = ORIGINAL.replace('# Role', '# Role </DONT_CHANGE>').replace('Dialogue so far:', '<DONT_CHANGE> Dialogue so far:');
    const { text, restored } = restoreAndCheck(updated);
    assert.deepEqual(restored, []);
    assert.equal(text, ORIGINAL.replace('# Role', '# Role ').replace('Dialogue so far:', ' Dialogue so far:'));
  });

  test('several regions rewritten and dropped at once all come back', () => {
    const mangled = '# Role\nTrack goals.\n<DONT_CHANGE>Output YAML.</DONT_CHANGE>\nDialogue so far: {{dialogue}}\n';
    const { restored, text } = restoreAndCheck(mangled);
    assert.deepEqual(restored, [FORMAT_REGION, DONTCARE_REGION]);
    assert.ok(!text.includes('Output YAML.'), 'the altered region was replaced');
  });
});
