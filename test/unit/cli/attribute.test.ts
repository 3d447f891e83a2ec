// `agentchord attribute` as a process: the exact JSON contract on stories260k, and exit 2 with the field named.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../backend/server/helpers';
import { sharedPath } from '../repo';
import { runCli } from './runCli';

const STORIES = sharedPath('models/stories260k');
const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-attribute-'));
let cli: string;
before(async () => {
  cli = await buildCli();
});
const run = (args: string[]) => runCli(cli, args, join(work, 'cache'));

function requestFile(name: string, content: unknown): string {
  const path = join(work, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

// "Once upon a time, there was a little girl named Lily." (ids from the reference fixture)
const ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
const request = { inputIds: ids, prefixLength: 2, targetStart: 14, spans: [{ id: 'opening', start: 2, end: 6 }, { id: 'girl', start: 9, end: 13 }, { id: 'name', start: 13, end: 16 }] };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
type Token = { l1: number; gradInput: number };

describe('agentchord attribute', { timeout: 300_000 }, () => {
  test('prints the contract JSON with finite numbers; span aggregates are the mean/max of the token values', async () => {
    const { code, stdout, stderr } = await run(['attribute', '--model', STORIES, '--request', requestFile('one.json', request), '--device', 'cpu']);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.deepEqual(Object.keys(result).sort(), ['connections', 'logProb', 'tokens']);
    assert.ok(Number.isFinite(result.logProb) && result.logProb < 0);
    assert.equal(result.tokens.length, ids.length - request.prefixLength);
    for (const t of result.tokens) {
      assert.deepEqual(Object.keys(t).sort(), ['gradInput', 'l1']);
      assert.ok(Number.isFinite(t.l1) && t.l1 >= 0 && Number.isFinite(t.gradInput));
    }
    assert.ok(result.tokens.slice(0, -1).every((t: Token) => t.l1 > 0));
    assert.deepEqual(Object.keys(result.connections).sort(), ['girl', 'name', 'opening']);
    for (const span of request.spans) {
      const tokens: Token[] = result.tokens.slice(span.start - request.prefixLength, span.end - request.prefixLength);
      const c = result.connections[span.id];
      assert.deepEqual(Object.keys(c).sort(), ['maxGradInput', 'maxL1', 'meanGradInput', 'meanL1']);
      assert.ok(Math.abs(c.meanL1 - mean(tokens.map((t) => t.l1))) <= 1e-9 * Math.max(1, c.meanL1));
      assert.equal(c.maxL1, Math.max(...tokens.map((t) => t.l1)));
      assert.ok(Math.abs(c.meanGradInput - mean(tokens.map((t) => t.gradInput))) <= 1e-9 * Math.max(1, Math.abs(c.meanGradInput)));
      assert.equal(c.maxGradInput, Math.max(...tokens.map((t) => t.gradInput)));
    }
  });

  test('an array of requests gives an array of results, in order', async () => {
    const other = { ...request, prefixLength: 0, targetStart: 1, spans: [] };
    const { code, stdout, stderr } = await run(['attribute', '--model', STORIES, '--request', requestFile('two.json', [request, other])]);
    assert.equal(code, 0, stderr);
    const results = JSON.parse(stdout);
    assert.equal(results.length, 2);
    assert.equal(results[0].tokens.length, ids.length - 2);
    assert.equal(results[1].tokens.length, ids.length);
    assert.deepEqual(results[1].connections, {});
    // More targets, lower joint log-probability.
    assert.ok(results[1].logProb < results[0].logProb);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['span inside the prefix', [request, { ...request, prefixLength: 5, targetStart: 14, spans: [{ id: 'x', start: 3, end: 6 }] }], /request\[1\]\.spans\[0\]\.start: 3 is inside the prefix \(prefixLength 5\)/],
    ['targetStart <= prefixLength', { ...request, targetStart: 2 }, /request\.targetStart: 2 must be greater than prefixLength 2/],
    ['id outside the vocabulary', { ...request, inputIds: [...ids.slice(0, 3), 600, ...ids.slice(4)] }, /request\.inputIds\[3\]: 600 is outside the vocabulary \(size 512\)/],
    ['malformed JSON', '{"inputIds": [1, 2', /is not valid JSON/],
    ['missing field', { inputIds: ids, prefixLength: 2, spans: [] }, /request\.targetStart: expected a non-negative integer, got missing/],
    ['non-integer', { ...request, prefixLength: 1.5 }, /request\.prefixLength: expected a non-negative integer, got 1\.5/],
    ['duplicate span ids', { ...request, spans: [{ id: 'a', start: 2, end: 3 }, { id: 'a', start: 4, end: 5 }] }, /request\.spans\[1\]\.id: duplicate span id 'a'/],
  ];
  for (const [what, content, message] of invalid) {
    test(`invalid request (${what}) exits 2 naming the field, prints nothing on stdout`, async () => {
      const { code, stdout, stderr } = await run(['attribute', '--model', STORIES, '--request', requestFile(`${what.replace(/\W+/g, '-')}.json`, content)]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, message);
      assert.equal(stdout, '');
    });
  }

  // Hostile shapes (issue 12): exit 2 with the field named and the value abbreviated, never a stack trace or an echo.
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const hostile: Array<[string, string, RegExp]> = [
    ['100k-deep nested inputIds', `{"inputIds": ${deep}, "prefixLength": 0, "targetStart": 1, "spans": []}`, /request\.inputIds: needs at least 2 tokens/],
    ['a 100k-deep nested request', deep, /request\[0\]: expected an object .*got a nested array too deep to print/],
    ['a million invalid ids', JSON.stringify({ ...request, inputIds: new Array(1_000_000).fill(-1) }), /request\.inputIds\[0\]: expected a non-negative integer token id, got -1[\s\S]*\.\.\. and \d+ more problems/],
    ['a 5 MB string in inputIds', JSON.stringify({ ...request, inputIds: [1, 'x'.repeat(5_000_000)] }), /request\.inputIds\[1\]: expected a non-negative integer token id, got "x{50,}\.\.\. \(5000002 characters\)/],
  ];
  for (const [what, content, message] of hostile) {
    test(`hostile request (${what}) exits 2 naming the field, abbreviated`, async () => {
      const { code, stdout, stderr } = await run(['attribute', '--model', STORIES, '--request', requestFile(`${what.replace(/\W+/g, '-')}.json`, content)]);
      assert.equal(code, 2, stderr.slice(0, 2000));
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /internal error| {4}at /);
      assert.ok(stderr.length < 10_000, `stderr has ${stderr.length} characters`);
      assert.equal(stdout, '');
    });
  }

  test('usage mistakes exit 2 naming the option', async () => {
    const file = requestFile('ok.json', request);
    let r = await run(['attribute', '--model', '/no/such/model', '--request', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--model: model folder not found: \/no\/such\/model/);
    r = await run(['attribute', '--model', STORIES, '--request', file, '--device', 'tpu']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--device: expected auto, cpu, cuda or webgpu, got 'tpu'/);
    r = await run(['attribute', '--model', STORIES, '--request', join(work, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--request: cannot read .*missing\.json \(ENOENT\)/);
    r = await run(['attribute', '--model', STORIES]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--request <file\.json> is required/);
    r = await run(['attribute', '--model', STORIES, '--request', file, '--device', 'cuda']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--device: device 'cuda' is not usable/);
  });
});
