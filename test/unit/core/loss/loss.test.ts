import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLoss, LossError, normalizeText, runBuiltinMetric } from '../../../../src/core/loss';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { THREE_AGENT_PROMPTS, threeAgentYaml, writeSystem } from '../engine/loopFixtures';

const sample = (fields: Record<string, unknown>) => ({ id: 's1', fields });
const opts = { reference: 'reference', normalize: 'lower' as const };

describe('builtin losses', () => {
  test('exact_match normalises case and spaces; a wrong answer says what was expected', () => {
    assert.equal(runBuiltinMetric('exact_match', { sample: sample({ reference: 'Paris' }), output: '  paris ' }, opts).loss, '');
    const bad = runBuiltinMetric('exact_match', { sample: sample({ reference: 'Paris' }), output: 'Lyon' }, opts);
    assert.equal(bad.score, 0);
    assert.match(bad.loss, /should have been "Paris" but was "Lyon"/);
    assert.equal(normalizeText('Hello, World!', 'alnum'), 'hello world');
  });

  test('contains scores the share of references found and names the missing ones', () => {
    const r = runBuiltinMetric('contains', { sample: sample({ reference: ['Tom', 'dog'] }), output: 'Tom went home.' }, opts);
    assert.equal(r.score, 0.5);
    assert.deepEqual(r.lossFields.missing, ['dog']);
    assert.match(r.loss, /mention "dog"/);
  });

  test('json_field_match reads fenced JSON and lists wrong fields', () => {
    const r = runBuiltinMetric(
      'json_field_match',
      { sample: sample({ reference: { city: 'Paris', day: 'Monday' } }), output: 'Here:\n```json\n{"city": "paris", "day": "Tuesday",}\n```' },
      opts,
    );
    assert.equal(r.score, 0.5);
    assert.match(r.loss, /field "day" is "Tuesday", expected "Monday"/);
    const notJson = runBuiltinMetric('json_field_match', { sample: sample({ reference: { a: 1 } }), output: 'no idea' }, opts);
    assert.equal(notJson.score, 0);
    assert.match(notJson.loss, /should be a JSON object/);
  });

  test('a missing reference field is an error naming the sample and field', () => {
    assert.throws(() => runBuiltinMetric('exact_match', { sample: sample({ answer: 'x' }), output: 'x' }, opts), /sample s1: no field "reference"/);
  });
});

describe('makeLoss from the system file', () => {
  test('builtin with options and a verbal-loss template filled from metrics and fields', async () => {
    const { system } = writeSystem(
      threeAgentYaml('loss: { builtin: contains, options: { reference: names, template: losses/story.md } }'),
      {
        ...THREE_AGENT_PROMPTS,
        'losses/story.md': 'The story about {{task.topic}} scored {{metrics.contains}} and is {{failures}}. It said: {{output}}\n',
      },
    );
    const loss = makeLoss(system);
    const r = await loss.evaluate({ sample: sample({ topic: 'a park', names: ['Tom', 'Sue'] }), output: 'Tom ran.' });
    assert.equal(r.score, 0.5);
    assert.equal(r.loss, 'The story about a park scored 0.5 and is missing "Sue". It said: Tom ran.');
    const ok = await loss.evaluate({ sample: sample({ topic: 'x', names: ['Tom'] }), output: 'Tom ran.' });
    assert.equal(ok.loss, '', 'a correct sample has an empty loss');
  });

  test('template loss: metric from its front matter', async () => {
    const { system } = writeSystem(threeAgentYaml('loss: { template: losses/loss.md }'), {
      ...THREE_AGENT_PROMPTS,
      'losses/loss.md': '---\nmetric: exact_match\noptions: { reference: answer }\n---\nExpected {{reference}}, got {{output}}.\n',
    });
    const r = await makeLoss(system).evaluate({ sample: sample({ answer: '42' }), output: '41' });
    assert.equal(r.loss, 'Expected 42, got 41.');
    assert.equal(r.metrics.exact_match, 0);
  });

  test('template loss without a metric uses the environment; without either it is a clear error', async () => {
    const { system } = writeSystem(threeAgentYaml('loss: { template: losses/loss.md }'), {
      ...THREE_AGENT_PROMPTS,
      'losses/loss.md': 'The user goal failed: {{lossFields.reason}} (success {{metrics.success}}).\n',
    });
    const loss = makeLoss(system);
    const r = await loss.evaluate({
      sample: sample({}),
      output: 'bye',
      environment: { metrics: { success: 0 }, lossFields: { reason: 'order not cancelled' } },
    });
    assert.equal(r.loss, 'The user goal failed: order not cancelled (success 0).');
    await assert.rejects(loss.evaluate({ sample: sample({}), output: 'x' }), (e: Error) => e instanceof LossError && /loss\.md: nothing scores/.test(e.message));
  });

  test('unknown builtin and bad options are errors naming the system file', () => {
    // The validator reports both before anything runs; makeLoss still refuses a config that skipped it.
    assert.throws(() => writeSystem(threeAgentYaml('loss: { builtin: fuzzy }'), THREE_AGENT_PROMPTS), /loss\.builtin: unknown loss 'fuzzy'/);
    assert.throws(() => writeSystem(threeAgentYaml('loss: { builtin: exact_match, options: { normalize: weird } }'), THREE_AGENT_PROMPTS), /loss\.options\.normalize must be one of/);
    const { system } = writeSystem(threeAgentYaml('loss: { builtin: exact_match }'), THREE_AGENT_PROMPTS);
    assert.throws(() => makeLoss({ ...system, loss: { kind: 'builtin', name: 'fuzzy', options: {} } }), /agentchord\.yaml: loss\.builtin: unknown loss "fuzzy"/);
    assert.throws(() => makeLoss({ ...system, loss: { kind: 'builtin', name: 'exact_match', options: { normalize: 'weird' } } }), /loss\.options\.normalize must be one of/);
  });

  test('llm_judge parses a sloppy JSON reply and turns feedback into the loss', async () => {
    const server = await OpenAITestServer.start({
      replies: [reply.text('Sure! ```json\n{"score": 0.25, "feedback": "The dog is never named.",}\n```'), reply.text('no json here')],
    });
    try {
      const { system } = writeSystem(threeAgentYaml('loss: { builtin: llm_judge, options: { model: m, reference: ref } }', server.baseUrl), THREE_AGENT_PROMPTS);
      const loss = makeLoss(system, { resolveModel: () => new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model' }) });
      const r = await loss.evaluate({ sample: sample({ ref: 'Rex the dog', topic: 'dogs' }), output: 'A dog.' });
      assert.equal(r.score, 0.25);
      assert.equal(r.loss, 'The dog is never named.');
      assert.match(server.completionRequests[0].body.messages[1].content, /Reference answer:\nRex the dog/);
      await assert.rejects(loss.evaluate({ sample: sample({ ref: 'x' }), output: 'y' }), /llm_judge on sample s1: the reply holds no JSON object/);
    } finally {
      await server.close();
    }
  });
});
