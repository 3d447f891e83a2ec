// Decoding: the loop's stop conditions and streaming (with scripted logits), sampling, and generate() on a random model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomModel } from '../../../../src/backend/model/randomModel';
import { decodeTokens, type DecodeContext, type LogitsSource } from '../../../../src/backend/runtime/generate';
import { loadModel } from '../../../../src/backend/runtime/loadModel';
import { seededRandom } from '../../../../src/shared/random';
import { pickToken } from '../../../../src/backend/runtime/sampling';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import type { GenerateOptions } from '../../../../src/protocol/attribution';

/** Vocabulary of single characters; id 0 ('#') is EOS. */
const LETTERS = '#abcdefghijklmnopqrstuvwxyz ';
const ctx: DecodeContext = { decode: (ids) => ids.map((i) => LETTERS[i]).join(''), eosIds: [0], vocabSize: LETTERS.length, maxPositions: 64 };

/** Emits the scripted ids in order (one-hot logits), then EOS. */
function scripted(text: string): LogitsSource & { calls: number } {
  const ids = [...text].map((ch) => LETTERS.indexOf(ch));
  let k = 0;
  const next = () => {
    const logits = new Float64Array(LETTERS.length);
    logits[k < ids.length ? ids[k] : 0] = 10;
    k++;
    return logits;
  };
  const source = { calls: 0, prefill: async () => (source.calls++, next()), step: async () => (source.calls++, next()) };
  return source;
}

const greedy: GenerateOptions = { maxTokens: 20, temperature: 0, topP: 1, stop: [] };

describe('decodeTokens', () => {
  test('stops at EOS without including it, streaming each token', async () => {
    const streamed: string[] = [];
    const r = await decodeTokens(scripted('hello'), ctx, [1], greedy, (_, text) => streamed.push(text));
    assert.deepEqual(r, { ids: [8, 5, 12, 12, 15], text: 'hello', finishReason: 'eos' });
    assert.deepEqual(streamed, ['h', 'e', 'l', 'l', 'o']);
  });
  test('stops at maxTokens', async () => {
    const r = await decodeTokens(scripted('hello world'), ctx, [1], { ...greedy, maxTokens: 3 });
    assert.deepEqual(r, { ids: [8, 5, 12], text: 'hel', finishReason: 'length' });
  });
  test('stops at the context limit', async () => {
    const r = await decodeTokens(scripted('hello world'), { ...ctx, maxPositions: 4 }, [1, 2], greedy);
    assert.equal(r.finishReason, 'length');
    assert.equal(r.ids.length, 2);
  });
  test('cuts the text before a stop string', async () => {
    const streamed: string[] = [];
    const r = await decodeTokens(scripted('hello world'), ctx, [1], { ...greedy, stop: ['zz', 'lo w'] }, (_, t) => streamed.push(t));
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.text, 'hel');
    assert.equal(ctx.decode(r.ids), 'hello w');
    assert.equal(streamed.join(''), 'hel');
  });
  test('text that may begin a stop string is held back, then delivered', async () => {
    const streamed: string[] = [];
    const r = await decodeTokens(scripted('hello'), ctx, [1], { ...greedy, stop: ['lox'] }, (_, t) => streamed.push(t));
    assert.deepEqual(r, { ids: [8, 5, 12, 12, 15], text: 'hello', finishReason: 'eos' });
    assert.deepEqual(streamed, ['h', 'e', '', 'l', '', 'lo']);
  });
  test('an aborted signal cancels between tokens', async () => {
    const controller = new AbortController();
    const source = scripted('hello world');
    const r = await decodeTokens(source, ctx, [1], greedy, (id) => id === LETTERS.indexOf('e') && controller.abort(), controller.signal);
    assert.deepEqual(r, { ids: [8, 5], text: 'he', finishReason: 'cancelled' });
    assert.equal(source.calls, 2);
  });
  test('rejects bad options naming the field', async () => {
    await assert.rejects(decodeTokens(scripted(''), ctx, [1], { ...greedy, topP: 0 }), /topP = 0/);
    await assert.rejects(decodeTokens(scripted(''), ctx, [1], { ...greedy, temperature: -1 }), /temperature = -1/);
    await assert.rejects(decodeTokens(scripted(''), ctx, [99], greedy), /promptIds\[0\] = 99/);
    await assert.rejects(decodeTokens(scripted(''), ctx, [1], { ...greedy, maxTokens: 1.5 }), /maxTokens = 1.5/);
  });
});

describe('pickToken', () => {
  test('temperature 0 is argmax; a tiny topP keeps only the most likely token', () => {
    const random = seededRandom(1);
    assert.equal(pickToken([0, 3, 1], 0, 1, random), 1);
    for (let i = 0; i < 50; i++) assert.equal(pickToken([0, 3, 1], 1, 1e-6, random), 1);
  });
  test('sampling follows softmax(logits / temperature)', () => {
    const random = seededRandom(42);
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) counts[pickToken([0, Math.log(3) * 2], 2, 1, random)]++;
    // p = [0.25, 0.75]
    assert.ok(Math.abs(counts[1] / 4000 - 0.75) < 0.03, String(counts));
  });
  test('top-p restricts sampling to the nucleus', () => {
    const random = seededRandom(3);
    const seen = new Set<number>();
    // probabilities 0.5, 0.3, 0.2: topP 0.7 keeps the first two
    for (let i = 0; i < 500; i++) seen.add(pickToken([Math.log(0.5), Math.log(0.3), Math.log(0.2)], 1, 0.7, random));
    assert.deepEqual([...seen].sort(), [0, 1]);
  });
});

describe('generate() on a random llama model', () => {
  const root = mkdtempSync(join(tmpdir(), 'agentchord-gen-'));
  let model: LoadedModel;
  before(async () => {
    writeRandomModel(join(root, 'm'), { arch: 'llama', hiddenSize: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 24, vocabSize: 300, seed: 3 });
    model = await loadModel(join(root, 'm'), { device: 'cpu', cacheDir: join(root, 'cache') });
  });
  after(async () => {
    await model?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('the same seed gives the same sample; another seed another one; greedy is deterministic', async () => {
    const sampled = (seed: number) => model.generate([1, 50, 60], { maxTokens: 12, temperature: 1.5, topP: 0.95, stop: [], seed });
    const [a, b, c] = [await sampled(5), await sampled(5), await sampled(6)];
    assert.deepEqual(a.ids, b.ids);
    assert.notDeepEqual(a.ids, c.ids);
    const g1 = await model.generate([1, 50, 60], { ...greedy, maxTokens: 8 });
    const g2 = await model.generate([1, 50, 60], { ...greedy, maxTokens: 8 });
    assert.deepEqual(g1, g2);
  });
  test('KV-cached decoding agrees with scoring the whole sequence at once', async () => {
    const g = await model.generate([1, 50, 60], { ...greedy, maxTokens: 6 });
    const ids = [1, 50, 60, ...g.ids];
    // each greedy token must be the argmax: its log-prob is at least that of any other token (checked via attribute)
    const full = await model.attribute({ inputIds: ids, prefixLength: 0, targetStart: 3, spans: [] });
    const cached = await model.attribute({ inputIds: ids, prefixLength: 2, targetStart: 3, spans: [] });
    assert.ok(Math.abs(full.logProb - cached.logProb) < 1e-4, `${full.logProb} vs ${cached.logProb}`);
  });
  test('an already-aborted signal returns cancelled without tokens', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await model.generate([1, 50], greedy, undefined, controller.signal);
    assert.deepEqual(r, { ids: [], text: '', finishReason: 'cancelled' });
  });
});
