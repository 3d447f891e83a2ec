/**
 * examples/multiwoz piece by piece: the system file, the datasets (rebuilt by scripts/data/multiwoz-splits.mjs),
 * the workspace tools and environment modules as AgentChord loads them, the environment's turn protocol, the two
 * verbal losses against the evaluator, and the run → predictions conversion.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMultiwozDb } from '../../../../src/evals/multiwoz/db';
import { loadMultiwozEvalData, loadSampleDialogues } from '../../../../src/evals/multiwoz/data';
import { createMultiwozEnvironment, evaluateDialogue, FIRST_TURN_HISTORY, readDialogueTask } from '../../../../src/evals/multiwoz/environment';
import { evaluateMultiwoz } from '../../../../src/evals/multiwoz/evaluator';
import { checkTurnStates } from '../../../../src/evals/multiwoz/losses';
import { normaliseState } from '../../../../src/evals/multiwoz/normalise';
import { labelOfSample, predictionsFromCalls, type RunCall } from '../../../../src/evals/multiwoz/runConversion';
import { buildDatasetSplits, TRAIN_DIALOGUES } from '../../../../src/evals/multiwoz/splits';
import { MULTIWOZ_TOOL_NAMES } from '../../../../src/evals/multiwoz/tools';
import type { DialogueState } from '../../../../src/evals/multiwoz/types';
import { multiwozEval } from '../../../../src/cli/commands/eval/multiwoz';
import { loadEnvironmentModule } from '../../../../src/core/engine/environment';
import { loadSystemFile } from '../../../../src/core/system';
import { loadToolsModule } from '../../../../src/core/tools/loadTools';
import { DOMAINS, EXAMPLE_DIR, goldToolCalls, goodReply, readDataset, type DatasetDialogue } from './scriptedDesk';

const DATA = join(EXAMPLE_DIR, 'data');
const db = loadMultiwozDb(join(DATA, 'db'));
const toolCallsOf = (d: DatasetDialogue, t: number) => DOMAINS.flatMap((domain) => goldToolCalls(d.gold_states[t], domain)) as Array<{ name: string; arguments: Record<string, unknown> }>;
const taskOf = (d: DatasetDialogue) => readDialogueTask({ id: d.id, fields: d as unknown as Record<string, unknown> });

describe('examples/multiwoz: system file and datasets', () => {
  test('the system file validates; the only warning is the attribution model folder still to download', () => {
    const { system, problems } = loadSystemFile(join(EXAMPLE_DIR, 'agentchord.yaml'));
    assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);
    // The path also reads as a repository id (org/name), so the message goes on with how to pull it.
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /^model 'attributor': model folder 'models\/Qwen2\.5-0\.5B-Instruct' not found\b/);
    assert.ok(system);
    assert.deepEqual(system.order, ['manager', 'restaurant', 'hotel', 'attraction', 'train', 'taxi', 'responder']);
    assert.equal(system.output, 'responder');
    assert.deepEqual([...new Set(system.agents.flatMap((a) => a.tools))].sort(), [...MULTIWOZ_TOOL_NAMES].sort());
    assert.equal(system.optimizer.batchSize, 3);
    assert.equal(system.optimizer.steps, 10);
    const endpoint = system.models.agents;
    assert.ok(endpoint.kind === 'endpoint' && endpoint.apiKeyEnv === 'OPENAI_API_KEY');
    // Every prompt keeps its fixed policy / output format in a frozen region.
    for (const agent of system.agents) assert.match(readFileSync(agent.promptFile, 'utf8'), /<DONT_CHANGE>[\s\S]+<\/DONT_CHANGE>/, agent.name);
  });

  test('the shipped datasets are exactly what scripts/data/multiwoz-splits.mjs builds', () => {
    for (const [name, text] of buildDatasetSplits(DATA)) assert.equal(readFileSync(join(EXAMPLE_DIR, 'datasets', name), 'utf8'), text, name);
  });

  test('test is the paper\'s 100 dialogues in order; train and validation are the training sample, disjoint from it', () => {
    const sample100 = loadSampleDialogues(join(DATA, 'sample100.json')).map((d) => d.dialogue_id);
    const trainSample = loadSampleDialogues(join(DATA, 'train_sample.json')).map((d) => d.dialogue_id);
    assert.deepEqual(readDataset('test').map((d) => d.id), sample100);
    assert.deepEqual(readDataset('train').map((d) => d.id), trainSample.slice(0, TRAIN_DIALOGUES));
    assert.deepEqual(readDataset('validation').map((d) => d.id), trainSample.slice(TRAIN_DIALOGUES));
    const test100 = new Set(sample100);
    assert.ok(trainSample.every((id) => !test100.has(id)));
    const gold = JSON.parse(readFileSync(join(DATA, 'gold_states_test.json'), 'utf8'));
    for (const d of readDataset('validation')) assert.deepEqual(d.gold_states, gold[d.id.toLowerCase()]);
  });
});

describe('examples/multiwoz: the workspace modules as AgentChord loads them', () => {
  test('tools.ts bundles the databases in and answers queries and bookings', async () => {
    const tools = await loadToolsModule(join(EXAMPLE_DIR, 'tools.ts'));
    assert.deepEqual(tools.schemas.map((s) => s.function.name), [...MULTIWOZ_TOOL_NAMES]);
    const context = { agent: 'restaurant', toolCallId: 'c1', signal: new AbortController().signal, state: {} };
    const found = (await tools.handlers.query_restaurant({ food: 'indian', area: 'centre' }, context)) as { count: number; results: Array<{ name: string }> };
    assert.equal(found.count, db.match('restaurant', { food: 'indian', area: 'centre' }).length);
    assert.ok(found.count > 0);
    const booked = (await tools.handlers.book_restaurant({ name: found.results[0].name, people: 2, day: 'monday', time: '19:00' }, context)) as { reference: string };
    assert.match(booked.reference, /^[A-Z0-9]{8}$/);
  });

  test('environment.ts replays a dialogue with teacher forcing and scores it', async () => {
    const create = await loadEnvironmentModule(join(EXAMPLE_DIR, 'environment.ts'));
    const dialogue = readDataset('validation')[0];
    const env = create({});
    const first = await env.reset({ id: `s0:${dialogue.id}`, fields: dialogue as unknown as Record<string, unknown> });
    assert.deepEqual(first.input, { dialogue_id: dialogue.id, turn: 1, history: FIRST_TURN_HISTORY, user: dialogue.turns[0].user });
    for (let t = 0; t < dialogue.turns.length; t++) {
      const calls = [{ toolCalls: toolCallsOf(dialogue, t).map((c, i) => ({ id: `t${i}`, name: c.name, arguments: JSON.stringify(c.arguments), result: '{}' })) }];
      const next = await env.step(goodReply(dialogue, t), { turn: t, calls: calls as never });
      if (t === dialogue.turns.length - 1) {
        assert.equal(next.done, true);
      } else {
        assert.equal(next.done, false);
        assert.equal(next.input!.turn, t + 2);
        assert.equal(next.input!.user, dialogue.turns[t + 1].user);
        // The gold history: every earlier user turn and clerk reply as in the corpus.
        assert.equal(next.input!.history, dialogue.turns.slice(0, t + 1).map((x) => `User: ${x.user}\nClerk: ${x.system}`).join('\n'));
      }
    }
    const outcome = await env.evaluate();
    assert.deepEqual(outcome.metrics, { inform: 1, success: 1, jga: 1, turns: dialogue.turns.length, score: 1 });
    assert.match(String(outcome.lossFields.jga_loss), /^none/);
  });

  test('a malformed dataset line is reported with the sample and the field', async () => {
    const env = createMultiwozEnvironment(db);
    const d = readDataset('train')[0];
    await assert.rejects(env.reset({ id: 'x1', fields: { ...d, gold_states: d.gold_states.slice(1) } }), /sample "x1", field "gold_states": expected one state .* per turn \(7\)/);
    await assert.rejects(env.reset({ id: 'x2', fields: { ...d, turns: [{ user: 'hi' }] } }), /sample "x2", field "turns"\[0\]/);
    await assert.rejects(env.reset({ id: 'x3', fields: { ...d, goal: [] } }), /sample "x3", field "goal"/);
  });
});

describe('examples/multiwoz: losses and conversion agree with the evaluator', () => {
  const data = loadMultiwozEvalData(DATA);
  const dialogues = [...readDataset('train'), ...readDataset('validation')];

  test('the turn-level JGA check gives the evaluator\'s joint goal accuracy, dialogue by dialogue', () => {
    for (const d of dialogues) {
      // Lagging one turn behind: the state of the previous turn (right only where the state did not change).
      const lagging: DialogueState[] = d.gold_states.map((_, t) => (t === 0 ? {} : d.gold_states[t - 1]));
      const checks = checkTurnStates(lagging.map(normaliseState), d.gold_states, d.turns.map((t) => t.user));
      const dst = evaluateMultiwoz({ [d.id.toLowerCase()]: lagging.map((state) => ({ response: '', state })) }, data).dst!;
      assert.ok(Math.abs((checks.filter((c) => c.correct).length / checks.length) * 100 - dst.jointAccuracy) < 1e-6, d.id);
      for (const c of checks.filter((x) => !x.correct)) assert.ok(c.falsePositives.length + c.falseNegatives.length > 0, `${d.id} turn ${c.turn}`);
    }
  });

  test('a dialogue\'s recorded metrics equal the evaluator\'s scores of its predictions', () => {
    for (const d of dialogues) {
      // Replies that name the venue only from the third turn on, and states from the gold tool calls.
      const replies = d.turns.map((_, t) => (t < 2 ? 'What else would you like?' : goodReply(d, t)));
      const calls = d.turns.map((_, t) => toolCallsOf(d, t));
      const { metrics } = evaluateDialogue(taskOf(d), replies, calls, db);
      const id = d.id.toLowerCase();
      const converted = predictionsFromCalls(
        d.turns.flatMap((_, t) => [
          { sampleId: `s3:${d.id}`, turn: t, agent: 'restaurant', step: 0, output: '', toolCalls: calls[t] },
          { sampleId: `s3:${d.id}`, turn: t, agent: 'responder', step: 0, output: replies[t], toolCalls: [] },
        ]),
        { outputAgent: 'responder' },
      );
      const scores = evaluateMultiwoz(converted, data);
      assert.equal(metrics.inform * 100, scores.inform.total, id);
      assert.equal(metrics.success * 100, scores.success.total, id);
      assert.ok(Math.abs(metrics.jga * 100 - scores.dst!.jointAccuracy) < 1e-6, id);
    }
  });

  test('the Inform & Success loss says what was requested and what was provided', () => {
    const d = dialogues.find((x) => x.id === 'MUL0389')!; // train + restaurant, both with a reference requested
    // No reference numbers given (a [train_reference] would count for the restaurant too, as in the evaluator).
    const replies = d.turns.map((_, t) => goodReply(d, t).replace(/\[\w+_reference\]/g, 'soon'));
    const { metrics, lossFields } = evaluateDialogue(taskOf(d), replies, d.turns.map((_, t) => toolCallsOf(d, t)), db);
    assert.deepEqual([metrics.inform, metrics.success], [1, 0]);
    const loss = String(lossFields.inform_success_loss);
    const [restaurant, train] = loss.split('\n');
    assert.match(train, /^train: inform ok, success FAILED\. Requested query: [^;]*departure=peterborough[^;]*; provided query: offered TR\d+/);
    assert.match(restaurant, /^restaurant: inform ok, success FAILED\. Requested query: [^;]*food=european[^;]*; provided query: offered /);
    for (const line of [train, restaurant]) assert.match(line, /Requested information: booking reference; provided information: train id \(missing: booking reference\)\.$/);
    assert.deepEqual(lossFields.requested_information, { train: ['booking reference'], restaurant: ['booking reference'] });
  });

  test('the conversion takes each turn\'s last output-agent step and needs a label when a dialogue ran twice', () => {
    const call = (sampleId: string, turn: number, agent: string, step: number, output: string): RunCall => ({ sampleId, turn, agent, step, output, toolCalls: [] });
    const calls = [
      call('s0:SNG0416', 0, 'responder', 0, 'first'),
      call('s0:SNG0416', 0, 'responder', 1, 'final'),
      call('s0:val-current:SNG0416', 0, 'responder', 0, 'other run'),
    ];
    assert.deepEqual(predictionsFromCalls(calls, { outputAgent: 'responder', label: 's0' }), { sng0416: [{ response: 'final', state: {} }] });
    assert.throws(() => predictionsFromCalls(calls, { outputAgent: 'responder' }), /'sng0416' ran more than once .*"s0:val-current"/);
    assert.throws(() => predictionsFromCalls([call('SNG0416', 1, 'responder', 0, 'x')], { outputAgent: 'responder' }), /sample "SNG0416", turn 0: no call of the output agent "responder"/);
    assert.deepEqual([labelOfSample('s0:val-candidate:MUL1'), labelOfSample('MUL1')], ['s0:val-candidate', '']);
  });

  test('eval multiwoz: --run and --predictions exclude each other; --label goes with --run', async () => {
    await assert.rejects(multiwozEval.run(['--run', 'a', '--predictions', 'b']), /give --predictions <file> or --run <run dir>, not both/);
    await assert.rejects(multiwozEval.run(['--predictions', 'b', '--label', 's0']), /--label and --save go with --run/);
    await assert.rejects(multiwozEval.run(['--run', join(EXAMPLE_DIR, 'nope')]), /--run: .*calls\.jsonl: cannot read the run's calls/);
  });
});
