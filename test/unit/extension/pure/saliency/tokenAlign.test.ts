import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, bucketize, BUCKETS, LineIndex, type SalientToken } from '../../../../../src/extension/pure/saliency/aggregate';
import { callSaliency } from '../../../../../src/extension/pure/saliency/callSaliency';
import { alignForward, isByteLevel, placeCallTokens } from '../../../../../src/extension/pure/saliency/tokenAlign';
import { realStoriesRun } from '../realRun';

describe('token alignment', () => {
  test('SentencePiece pieces: ▁ spaces, byte pieces, a dummy leading space', () => {
    const text = 'Hi there\nfriend é!';
    const pieces = ['▁Hi', '▁there', '<0x0A>', 'fr', 'iend', '▁', '<0xC3>', '<0xA9>', '!'];
    const ranges = alignForward(pieces, text);
    const shown = ranges.map((r) => (r ? text.slice(r.start, r.end) : undefined));
    assert.deepEqual(shown, ['Hi', ' there', '\n', 'fr', 'iend', ' ', 'é', 'é', '!']);
  });

  test('a lone dummy-prefix ▁ before text without a leading space does not jump ahead (chord-retrieval lines)', () => {
    const text = 'Planner: Max has a bag.\nScout: Lucy has a toy.';
    const pieces = ['▁', 'Pl', 'anner', ':', '▁Max', '▁has', '▁a', '▁bag', '.', '<0x0A>', 'Sc', 'out', ':', '▁Lucy', '▁has', '▁a', '▁toy', '.'];
    const shown = alignForward(pieces, text).map((r) => (r ? text.slice(r.start, r.end) : undefined));
    assert.deepEqual(shown, [undefined, 'Pl', 'anner', ':', ' Max', ' has', ' a', ' bag', '.', '\n', 'Sc', 'out', ':', ' Lucy', ' has', ' a', ' toy', '.']);
  });

  test('byte-level BPE pieces (Ġ, Ċ) and special tokens', () => {
    const pieces = ['<|im_start|>', 'Hello', 'Ġworld', 'Ċ', '<|im_end|>'];
    assert.ok(isByteLevel(pieces));
    const text = 'Hello world\n';
    const ranges = alignForward(pieces, text);
    assert.equal(ranges[0], undefined);
    assert.deepEqual(ranges.slice(1, 4).map((r) => r && text.slice(r.start, r.end)), ['Hello', ' world', '\n']);
    assert.equal(ranges[4], undefined);
    // A multi-byte character written in the byte alphabet ('Ã©' is é), and one split over two pieces.
    const accents = 'café é';
    const split = alignForward(['ca', 'fÃ©', 'ĠÃ', '©'], accents);
    assert.deepEqual(split.map((r) => r && accents.slice(r.start, r.end)), ['ca', 'fé', ' é', ' é']);
  });

  test('text between tokens (framing) is skipped; input aligned forward, output backward', () => {
    const input = 'PROMPT <b>cat</b>';
    const output = 'a dog';
    // Tail: block "cat", the framing "</b>" + "\n\n" (unknown to the aligner), then the output.
    const pieces = ['cat', '</', 'b', '>', '<0x0A>', '<0x0A>', 'a', '▁dog'];
    const placed = placeCallTokens(pieces, input, input.indexOf('cat'), output);
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
      // Every block token (by the recorded token ranges) is placed inside its block, on the piece's own text.
      for (const block of call.blocks) {
        for (let t = block.tokenStart!; t < block.tokenEnd!; t++) {
          const index = t - tokens.offset;
          const placed = s.input.find((x) => x.piece === tokens.pieces[index] && x.start >= block.charStart && x.end <= block.charEnd);
          assert.ok(placed, `${call.id}: token ${index} '${tokens.pieces[index]}' of ${block.id} not placed in the block`);
        }
      }
      for (const x of s.input) {
        const piece = x.piece.replace(/▁/g, ' ').replace(/<0x0A>/g, '\n').replace(/<0x3D>/g, '=');
        assert.ok(piece === call.renderedInput.slice(x.start, x.end) || piece.trimStart() === call.renderedInput.slice(x.start, x.end), `${x.piece} vs ${call.renderedInput.slice(x.start, x.end)}`);
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
