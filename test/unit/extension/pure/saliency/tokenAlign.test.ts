import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, bucketize, BUCKETS, LineIndex, type SalientToken } from '../../../../../src/extension/pure/saliency/aggregate';
import { callSaliency } from '../../../../../src/extension/pure/saliency/callSaliency';
import { alignForward, placeCallTokens } from '../../../../../src/extension/pure/saliency/tokenAlign';
import { realStoriesRun } from '../realRun';

describe('token alignment', () => {
  test('decoded token texts: spaces, a line break, a character split over tokens (leading bytes have no text)', () => {
    const text = 'Hi there\nfriend é!';
    const texts = [' Hi', ' there', '\n', 'fr', 'iend', ' ', '', 'é', '!'];
    const shown = alignForward(texts, text).map((r) => (r ? text.slice(r.start, r.end) : undefined));
    assert.deepEqual(shown, ['Hi', ' there', '\n', 'fr', 'iend', ' ', 'é', 'é', '!']);
  });

  test('a lone dummy-prefix space before text without a leading space does not jump ahead (chord-retrieval lines)', () => {
    const text = 'Planner: Max has a bag.\nScout: Lucy has a toy.';
    const texts = [' ', 'Pl', 'anner', ':', ' Max', ' has', ' a', ' bag', '.', '\n', 'Sc', 'out', ':', ' Lucy', ' has', ' a', ' toy', '.'];
    const shown = alignForward(texts, text).map((r) => (r ? text.slice(r.start, r.end) : undefined));
    assert.deepEqual(shown, [undefined, 'Pl', 'anner', ':', ' Max', ' has', ' a', ' bag', '.', '\n', 'Sc', 'out', ':', ' Lucy', ' has', ' a', ' toy', '.']);
  });

  test('special tokens (chat-template markup) are in neither text: not drawn', () => {
    const texts = ['<|im_start|>', 'Hello', ' world', '\n', '<|im_end|>'];
    const text = 'Hello world\n';
    const ranges = alignForward(texts, text);
    assert.equal(ranges[0], undefined);
    assert.deepEqual(ranges.slice(1, 4).map((r) => r && text.slice(r.start, r.end)), ['Hello', ' world', '\n']);
    assert.equal(ranges[4], undefined);
  });

  test('text between tokens (framing) is skipped; input aligned forward, output backward', () => {
    const input = 'PROMPT <b>cat</b>';
    const output = 'a dog';
    // Tail: block "cat", the framing "</b>" + "\n\n" (unknown to the aligner), then the output.
    const texts = ['cat', '</', 'b', '>', '\n', '\n', 'a', ' dog'];
    const placed = placeCallTokens(texts, input, input.indexOf('cat'), output);
    const byIndex = new Map(placed.map((p) => [p.index, p]));
    assert.deepEqual(byIndex.get(0), { index: 0, part: 'input', start: 10, end: 13 });
    assert.equal(byIndex.get(6)?.part, 'output');
    assert.deepEqual([byIndex.get(6)?.start, byIndex.get(7)?.start, byIndex.get(7)?.end], [0, 1, 5]);
    assert.equal(byIndex.get(4), undefined, 'the framing newlines are in neither text');
  });

  test('on a real stories260k run every token of the blocks and the output is placed on its own text', { timeout: 120_000 }, async () => {
    const { contents } = await realStoriesRun();
    const attributed = contents.attribution.filter((a) => a.status === 'ok' && a.tokens);
    assert.ok(attributed.length >= 2, 'the storyteller calls have token saliency');
    for (const a of attributed) {
      const call = contents.calls.find((c) => c.id === a.callId)!;
      const s = callSaliency(call, a);
      const tokens = a.tokens!;
      assert.ok(tokens.texts, 'the run records decoded token texts');
      assert.ok(tokens.texts.every((t) => !t.includes('▁') && !/<0x[0-9A-F]{2}>/.test(t)), 'texts, not piece spellings');
      // Every block token (by the recorded token ranges) is placed inside its block, on its own text.
      for (const block of call.blocks) {
        for (let t = block.tokenStart!; t < block.tokenEnd!; t++) {
          const index = t - tokens.offset;
          const placed = s.input.find((x) => x.piece === tokens.texts![index] && x.start >= block.charStart && x.end <= block.charEnd);
          assert.ok(placed, `${call.id}: token ${index} '${tokens.texts[index]}' of ${block.id} not placed in the block`);
        }
      }
      for (const x of s.input) {
        const shown = call.renderedInput.slice(x.start, x.end);
        assert.ok(x.piece === shown || x.piece.trimStart() === shown, `${x.piece} vs ${shown}`);
      }
      // The output is covered end to end.
      const covered = s.output.map((x) => call.output.slice(x.start, x.end)).join('');
      assert.equal(covered.replace(/\s/g, ''), call.output.replace(/\s/g, ''));
      assert.equal(s.input.length + s.output.length >= tokens.pieces.length - 4, true, 'at most the framing tokens are unplaced');
    }
  });
});

describe('aggregation and buckets', () => {
  const text = 'the cat sat\non mats';
  const tok = (start: number, end: number, l1: number, block = 'b'): SalientToken => ({ start, end, l1, gradInput: -l1, piece: text.slice(start, end), block });
  const tokens = [tok(0, 3, 1), tok(3, 5, 2), tok(5, 7, 10), tok(7, 11, 4), tok(11, 12, 0), tok(12, 14, 3, 'c'), tok(14, 19, 5, 'c')];

  test('token, word, line and block grouping average L1 and g·e', () => {
    assert.equal(aggregate(tokens, text, 'token').length, 7);
    const words = aggregate(tokens, text, 'word');
    const cat = words.find((w) => w.start === 3)!;
    assert.deepEqual([cat.end, cat.tokens, cat.l1, cat.gradInput], [7, 2, 6, -6]);
    const lines = aggregate(tokens, text, 'line');
    assert.deepEqual(lines.map((l) => [l.start, l.end, l.tokens]), [[0, 12, 5], [12, 19, 2]]);
    const blocks = aggregate(tokens, text, 'block');
    assert.deepEqual(blocks.map((b) => b.block), ['b', 'c']);
  });

  test('buckets scale by the largest L1; positions come from line starts', () => {
    const spans = aggregate(tokens, text, 'token');
    assert.equal(spans.find((s) => s.l1 === 10)!.bucket, BUCKETS - 1);
    assert.equal(spans.find((s) => s.l1 === 0)!.bucket, 0);
    const buckets = bucketize(spans, text);
    assert.equal(buckets.flat().length, spans.length);
    const mats = buckets.flat().find((s) => s.start === 14)!;
    assert.deepEqual([mats.from, mats.to], [{ line: 1, character: 2 }, { line: 1, character: 7 }]);
    assert.deepEqual(new LineIndex('a\nb').position(2), { line: 1, character: 0 });
  });
});
