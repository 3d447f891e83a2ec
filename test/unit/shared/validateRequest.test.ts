import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseAttributionRequests, validateAttributionRequest } from '../../../src/shared/validateRequest';

const valid = { inputIds: [1, 5, 6, 7, 8, 9, 10], prefixLength: 5, targetStart: 6, spans: [{ id: 'a', start: 5, end: 6 }] };
const messages = (json: unknown, vocabSize?: number) => validateAttributionRequest(json, vocabSize).map(formatProblem);

test('a valid request has no problems', () => {
  assert.deepEqual(messages(valid, 512), []);
  assert.deepEqual(messages({ ...valid, prefixLength: 0, targetStart: 1, spans: [] }), []);
});

test('each kind of mistake names its field', () => {
  assert.deepEqual(messages({ ...valid, spans: [{ id: 'a', start: 3, end: 6 }] }), ['request.spans[0].start: 3 is inside the prefix (prefixLength 5)']);
  assert.deepEqual(messages({ ...valid, targetStart: 5 }), ['request.targetStart: 5 must be greater than prefixLength 5 (the first target is predicted from the tail)']);
  assert.deepEqual(messages({ ...valid, inputIds: [1, 5, 600, 7, 8, 9, 10] }, 512), ['request.inputIds[2]: 600 is outside the vocabulary (size 512)']);
  assert.deepEqual(messages({ ...valid, inputIds: [1, 5, 6.5, 7, 8, 9, 10] }), ['request.inputIds[2]: expected a non-negative integer token id, got 6.5']);
  assert.deepEqual(messages({ ...valid, prefixLength: '5' }), ['request.prefixLength: expected a non-negative integer, got "5"']);
  assert.deepEqual(messages({ inputIds: valid.inputIds, prefixLength: 5, targetStart: 6 }), ['request.spans: expected an array of {id, start, end}, got missing']);
  assert.deepEqual(messages({ ...valid, spans: [valid.spans[0], { id: 'a', start: 6, end: 7 }] }), ["request.spans[1].id: duplicate span id 'a' (also spans[0])"]);
  assert.deepEqual(messages({ ...valid, spans: [{ id: 'a', start: 6, end: 9 }] }), ['request.spans[0].end: 9 is past the end of inputIds (7 tokens)']);
  assert.deepEqual(messages({ ...valid, spans: [{ id: 'a', start: 6, end: 6 }] }), ['request.spans[0].end: 6 must be greater than start 6 (spans are half-open [start, end))']);
  assert.deepEqual(messages({ ...valid, targetStart: 7 }), ['request.targetStart: 7 leaves no target (inputIds has 7 tokens)']);
  assert.deepEqual(messages([valid]), ['request: expected an object {inputIds, prefixLength, targetStart, spans}, got [{"inputIds":[1,5,6,7,8,9,10],"prefixLength":5,"targetStart":6,"spans":[{"id":"a","start":5,"end":6}]}]']);
  assert.deepEqual(validateAttributionRequest({ ...valid }, undefined, { maxPositions: 4 }).map(formatProblem), ["request.inputIds: 7 tokens exceed the model's context length 4"]);
});

test('a file holds one request or an array; paths say which element', () => {
  const single = parseAttributionRequests(valid);
  assert.equal(single.isArray, false);
  assert.deepEqual(single.requests, [valid]);
  const bad = parseAttributionRequests([valid, { ...valid, spans: [{ id: 'x', start: 3, end: 6 }] }]);
  assert.equal(bad.isArray, true);
  assert.deepEqual(bad.requests, []);
  assert.deepEqual(bad.problems.map(formatProblem), ['request[1].spans[0].start: 3 is inside the prefix (prefixLength 5)']);
  assert.deepEqual(parseAttributionRequests([]).problems.map(formatProblem), ['request: the array of requests is empty']);
});

test('a long request with a problem per token reports them all (no push(...problems))', () => {
  const n = 300_000;
  const request = { inputIds: Array.from({ length: n }, () => 999), prefixLength: 1, targetStart: 2, spans: [{ id: 'a', start: 1, end: 2 }] };
  const { requests, problems } = parseAttributionRequests(request, { vocabSize: 10 });
  assert.equal(requests.length, 0);
  assert.equal(problems.length, n);
  assert.equal(formatProblem(problems[n - 1]), `request.inputIds[${n - 1}]: 999 is outside the vocabulary (size 10)`);
});
