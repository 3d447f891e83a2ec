import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../../../src/backend/tokenizer/hfTokenizer';
import { writeRandomModel } from '../../../../src/backend/model/randomModel';
import { ModelError } from '../../../../src/backend/errors';
import { sharedPath } from '../../repo';

const stories = sharedPath('models', 'stories260k');
const chord = sharedPath('models', 'chord-retrieval');

interface FixtureCase {
  prompt: string;
  ids: number[];
  pieces: string[];
}
interface ChordCase {
  text: string;
  inputIds: number[];
  blocks: Array<{ id: string; start: number; end: number }>;
  question: { start: number; end: number };
  answerStart: number;
  answerEnd: number;
}

describe('loadTokenizer on stories260k (SentencePiece-style BPE with byte fallback)', () => {
  test('encodes the fixture prompts to the reference ids and pieces', async () => {
    const tok = await loadTokenizer(stories);
    const fixture = JSON.parse(readFileSync(join(stories, 'reference_fixture.json'), 'utf8')) as { cases: FixtureCase[] };
    assert.equal(fixture.cases.length, 2);
    for (const c of fixture.cases) {
      const ids = tok.encode(c.prompt);
      assert.deepEqual(ids, c.ids);
      // llama2.c spells BOS '\n<s>\n' and the word-start marker as a space.
      assert.equal(c.pieces[0], '\n<s>\n');
      assert.equal(tok.idToPiece(ids[0]), '<s>');
      assert.deepEqual(ids.slice(1).map((id) => tok.idToPiece(id).replaceAll('▁', ' ')), c.pieces.slice(1));
    }
  });

  test('special tokens, vocabulary size and decode round trips', async () => {
    const tok = await loadTokenizer(stories);
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.bosId, 1);
    assert.deepEqual(tok.eosIds, [2]);
    assert.equal(tok.hasChatTemplate, false);
    assert.throws(() => tok.renderChat([{ role: 'user', content: 'hi' }]), ModelError);
    for (const text of ['Once upon a time, there was a little girl named Lily.', 'Zoë said: "hi" 😀\n\tnew line  two spaces', ' leading space']) {
      const ids = tok.encode(text);
      assert.equal(ids[0], 1);
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), text);
      assert.equal(tok.decode(tok.encode(text, { addSpecialTokens: false })), text);
    }
  });

  test('encodeSegments: BOS outside every range, later segments without the start-of-text ▁', async () => {
    const tok = await loadTokenizer(stories);
    const segments = ['Helper: Sue has a boat.', '\n', 'Finder: Tim has a bike.', ''];
    const { ids, ranges } = tok.encodeSegments(segments);
    assert.deepEqual(ids, tok.encode(segments.join('')));
    assert.equal(ids[0], 1);
    assert.equal(ranges[0][0], 1, 'BOS is not part of segment 0');
    for (let k = 1; k < ranges.length; k++) assert.equal(ranges[k][0], ranges[k - 1][1], 'ranges are contiguous');
    assert.equal(ranges[3][0], ranges[3][1], 'an empty segment has an empty range');
    assert.equal(ranges[3][1], ids.length);
    assert.equal(tok.idToPiece(ids[ranges[2][0]]), 'F', 'a mid-text segment gets no ▁ prefix');
    for (let k = 0; k < segments.length; k++) assert.equal(tok.decode(ids.slice(...ranges[k])), segments[k]);
    assert.equal(tok.agreesWithWholeText(segments), true);

    const leadingEmpty = tok.encodeSegments(['', 'Tim has a ball.']);
    assert.deepEqual(leadingEmpty.ids, tok.encode('Tim has a ball.'), 'the first non-empty segment starts the text');
    assert.deepEqual(leadingEmpty.ranges[0], [1, 1]);

    const bare = tok.encodeSegments(['a', ' b'], { addSpecialTokens: false });
    assert.equal(bare.ranges[0][0], 0);
    assert.deepEqual(bare.ids, tok.encode('a b', { addSpecialTokens: false }));
  });

  test('encodeSegments when a merge crosses a boundary: ranges stay exact for the ids we feed', async () => {
    const tok = await loadTokenizer(stories);
    const segments = ['He said Ti', 'm'];
    assert.equal(tok.agreesWithWholeText(segments), false, 'the whole text has the single piece "▁Tim"');
    const { ids, ranges } = tok.encodeSegments(segments);
    assert.notDeepEqual(ids, tok.encode(segments.join('')));
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'He said Tim');
    assert.deepEqual(ids.slice(...ranges[1]).map((id) => tok.idToPiece(id)), ['m']);
  });

  test('chord-retrieval cases.json: segment-wise ids and block ranges equal the recorded ones', async () => {
    const tok = await loadTokenizer(chord);
    const cases = JSON.parse(readFileSync(join(chord, 'cases.json'), 'utf8')) as ChordCase[];
    assert.equal(cases.length, 50);
    for (const c of cases) {
      // Segments as the README describes: agent lines (blocks) joined by '\n', then the question, then the answer.
      const lines = c.text.split('\n');
      const segments: string[] = [];
      c.blocks.forEach((_, i) => segments.push(lines[i], '\n'));
      const rest = lines.slice(c.blocks.length).join('\n');
      const answerAt = rest.lastIndexOf('Answer:') + 'Answer:'.length;
      segments.push(rest.slice(0, answerAt), rest.slice(answerAt));
      const { ids, ranges } = tok.encodeSegments(segments);
      assert.deepEqual(ids, c.inputIds, c.text);
      c.blocks.forEach((b, i) => assert.deepEqual(ranges[2 * i], [b.start, b.end], `${b.id} of ${JSON.stringify(c.text)}`));
      assert.deepEqual(ranges[segments.length - 2], [c.question.start, c.question.end]);
      assert.deepEqual(ranges[segments.length - 1], [c.answerStart, c.answerEnd]);
    }
  });
});

describe('loadTokenizer on random models (byte-level BPE)', () => {
  test('qwen2: ChatML template renders, special tokens are single ids, no BOS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-tok-'));
    writeRandomModel(dir, { arch: 'qwen2', hiddenSize: 32, numLayers: 1, numHeads: 2, numKvHeads: 1, intermediateSize: 64, vocabSize: 1024, seed: 3 });
    const tok = await loadTokenizer(dir);
    assert.equal(tok.vocabSize, 1024);
    assert.equal(tok.hasChatTemplate, true);
    assert.equal(tok.bosId, undefined);
    const imStart = 1022;
    const imEnd = 1023;
    assert.deepEqual([...tok.eosIds].sort(), [1021, imEnd]);
    const rendered = tok.renderChat(
      [
        { role: 'system', content: 'You plan trips.' },
        { role: 'user', content: 'Book a hotel.' },
      ],
      { addGenerationPrompt: true },
    );
    assert.equal(rendered, '<|im_start|>system\nYou plan trips.<|im_end|>\n<|im_start|>user\nBook a hotel.<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(tok.renderChat([{ role: 'user', content: 'x' }]), '<|im_start|>user\nx<|im_end|>\n');
    const ids = tok.encode(rendered);
    assert.equal(ids[0], imStart, 'no BOS for qwen');
    assert.equal(ids.filter((id) => id === imStart).length, 3);
    assert.equal(ids.filter((id) => id === imEnd).length, 2);
    assert.equal(tok.decode(ids), rendered);
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'system\nYou plan trips.\nuser\nBook a hotel.\nassistant\n');
    const text = 'Ünïcode ✓ and the agent answer';
    assert.equal(tok.decode(tok.encode(text)), text);
    assert.ok(tok.encode(' the agent').length <= 2, 'common words are single tokens');
    for (let id = 0; id < tok.vocabSize; id++) assert.notEqual(tok.idToPiece(id), '', `piece of ${id}`);
    const seg = tok.encodeSegments(['<|im_start|>user\n', 'Book a hotel.', '<|im_end|>\n']);
    assert.deepEqual(seg.ids, tok.encode('<|im_start|>user\nBook a hotel.<|im_end|>\n'));
    assert.equal(tok.decode(seg.ids.slice(...seg.ranges[1])), 'Book a hotel.');
  });

  test('llama: BOS prefix from the post-processor; a tiny vocabulary still covers every id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-tok-'));
    writeRandomModel(dir, { arch: 'llama', hiddenSize: 16, numLayers: 1, numHeads: 2, numKvHeads: 2, intermediateSize: 32, vocabSize: 64, seed: 3 });
    const tok = await loadTokenizer(dir);
    assert.equal(tok.vocabSize, 64);
    assert.equal(tok.bosId, 1);
    assert.deepEqual(tok.eosIds, [2]);
    const { ids, ranges } = tok.encodeSegments(['the cat', ' sat']);
    assert.equal(ids[0], 1);
    assert.deepEqual(ranges[0][0], 1);
    assert.ok(ids.every((id) => id >= 0 && id < 64));
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'the cat sat');
  });

  test('chat_template.jinja and named template lists are found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-tok-'));
    copyFileSync(join(stories, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const config = JSON.parse(readFileSync(join(stories, 'tokenizer_config.json'), 'utf8'));
    config.chat_template = [
      { name: 'tool_use', template: 'TOOLS' },
      { name: 'default', template: '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}{% if add_generation_prompt %}>{% endif %}' },
    ];
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    const named = await loadTokenizer(dir);
    assert.equal(named.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }), '<s>[user] hi>');
    writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}{{ m.content | upper }}{% endfor %}');
    assert.equal((await loadTokenizer(dir)).renderChat([{ role: 'user', content: 'hi' }]), 'HI');
    writeFileSync(join(dir, 'tokenizer.json'), '{');
    await assert.rejects(loadTokenizer(dir), (e: Error) => e instanceof ModelError && e.message.includes(join(dir, 'tokenizer.json')));
  });
});
