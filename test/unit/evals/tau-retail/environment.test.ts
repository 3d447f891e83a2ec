/**
 * The retail environment in AgentChord's environment contract: scripted conversations (user simulator on a real
 * OpenAI-compatible test server, tool calls through the workspace `tools` handlers) run to done, and evaluate()
 * gives tau-bench's rewards and the verbal loss.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvironment, createTauRetailEnvironment } from '../../../../src/evals/tau-retail/environment';
import { loadRetailTasks } from '../../../../src/evals/tau-retail/db';
import { SESSION_FIELD } from '../../../../src/evals/tau-retail/session';
import { tools } from '../../../../src/evals/tau-retail/tools';
import { STOP_TOKEN } from '../../../../src/evals/tau-retail/userSimulator';
import type { Environment, TurnRecord } from '../../../../src/core/engine/environment';
import { loadEnvironmentModule } from '../../../../src/core/engine/environment';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import { loadToolsModule } from '../../../../src/core/tools/loadTools';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { repoPath } from '../../repo';

/** The tau-bench environment reads tool effects from its session, not from the recorded calls the engine passes. */
const NO_CALLS: TurnRecord = { turn: 0, calls: [] };

const DATA = repoPath('examples/tau-retail/data');

let server: OpenAITestServer;
before(async () => {
  server = await OpenAITestServer.start();
});
after(() => server.close());

function environment(maxUserTurns?: number): Environment {
  return createTauRetailEnvironment({ dataDir: DATA, userProvider: new OpenAIProvider({ baseUrl: server.baseUrl, model: 'user', retry: { maxRetries: 0 } }), maxUserTurns });
}

/** Calls a tool the way the engine does: with the turn's input as `context.state.task`. */
async function callTool(input: Record<string, unknown>, name: string, args: Record<string, unknown>): Promise<string> {
  const tool = tools.find((t) => t.schema.function.name === name)!;
  return String(await tool.handler(args, { agent: 'agent', toolCallId: 'c1', signal: new AbortController().signal, state: { task: input } }));
}

const train0 = { id: 'train-0', fields: { split: 'train', taskIndex: 0 } };
const RETURN_ARGS = { order_id: '#W6067464', item_ids: ['9624127908', '8917609800'], payment_method_id: 'credit_card_4190576' };

describe('tau-retail environment', () => {
  test('a scripted conversation that does the ground truth runs to done and scores reward 1', async () => {
    server.enqueue(reply.text('Hi, I want to return a kettle and a wall clock.'), reply.text('Yes, go ahead.'), reply.text(STOP_TOKEN));
    const env = environment();
    const first = await env.reset(train0);
    assert.equal(first.input.message, 'Hi, I want to return a kettle and a wall clock.');
    assert.equal(first.input.dialogue, 'User: Hi, I want to return a kettle and a wall clock.');
    assert.equal(typeof first.input[SESSION_FIELD], 'string');

    assert.equal(await callTool(first.input, 'find_user_id_by_name_zip', { first_name: 'Omar', last_name: 'Anderson', zip: '19031' }), 'omar_anderson_3203');
    const second = await env.step('Found you. Shall I return the kettle and the clock to your credit card?', NO_CALLS);
    assert.equal(second.done, false);
    assert.equal(second.input!.message, 'Yes, go ahead.');
    assert.match(String(second.input!.dialogue), /Tool call: find_user_id_by_name_zip\(.*\)\nTool result: omar_anderson_3203\n\nAgent: Found you\./);

    assert.match(await callTool(second.input!, 'return_delivered_order_items', RETURN_ARGS), /"status": "return requested"/);
    assert.deepEqual(await env.step('The return is requested.', NO_CALLS), { done: true });

    const { metrics, lossFields } = await env.evaluate();
    assert.deepEqual(metrics, { reward: 1, actionReward: 1, outputReward: 1, ended: 1, userTurns: 3, toolCalls: 2 });
    assert.match(String(lossFields.loss), /^The task was solved \(reward 1\)\./);
    assert.match(String(lossFields.groundTruthActions), /^1\. return_delivered_order_items\(\{"order_id":"#W6067464"/);
    assert.match(String(lossFields.actionMatch), /^yes/);
    // The session is closed: the tools no longer accept it.
    await assert.rejects(callTool(second.input!, 'think', { thought: 'x' }), /need the tau-retail environment/);
  });

  test('wrong actions: action reward 0 and a loss that shows both action lists', async () => {
    server.enqueue(reply.text('Hi, I want to return a kettle and a wall clock.'), reply.text(STOP_TOKEN));
    const env = environment();
    const { input } = await env.reset(train0);
    await callTool(input, 'return_delivered_order_items', { ...RETURN_ARGS, item_ids: ['9624127908'] });
    assert.deepEqual(await env.step('Done, the kettle is being returned.', NO_CALLS), { done: true });
    const { metrics, lossFields } = await env.evaluate();
    assert.equal(metrics.reward, 0);
    assert.equal(metrics.actionReward, 0);
    assert.match(String(lossFields.loss), /The task failed \(reward 0\)\./);
    assert.match(String(lossFields.loss), /Actions taken by the agent:\n1\. return_delivered_order_items\(\{"order_id":"#W6067464","item_ids":\["9624127908"\]/);
    assert.match(String(lossFields.loss), /Action match: no/);
  });

  test('required outputs: found in the agent’s messages with commas removed, case-insensitive', async () => {
    const tasks = loadRetailTasks(DATA, 'test');
    assert.deepEqual(tasks[67].outputs, ['829.43']);
    for (const [message, reward] of [['Your total is $829.43.', 1], ['Your total is about $830.', 0]] as const) {
      server.enqueue(reply.text('How much did I pay?'), reply.text(STOP_TOKEN));
      const env = environment();
      await env.reset({ id: 'test-67', fields: { split: 'test', taskIndex: 67 } });
      await env.step(message, NO_CALLS);
      const { metrics, lossFields } = await env.evaluate();
      assert.equal(metrics.reward, reward, message);
      assert.equal(metrics.outputReward, reward);
      assert.equal(metrics.actionReward, 1); // the task only reads the database
      assert.match(String(lossFields.outputMatch), reward ? /^yes/ : /^no: missing "829\.43"/);
    }
  });

  test('a transfer to a human agent ends the episode without asking the user', async () => {
    server.enqueue(reply.text('I want a human.'));
    const env = environment();
    const { input } = await env.reset(train0);
    const before = server.completionRequests.length;
    assert.equal(await callTool(input, 'transfer_to_human_agents', { summary: 'wants a human' }), 'Transfer successful');
    assert.deepEqual(await env.step('Transferring you now.', NO_CALLS), { done: true });
    assert.equal(server.completionRequests.length, before);
    const { metrics, lossFields } = await env.evaluate();
    assert.deepEqual([metrics.ended, metrics.reward, metrics.actionReward], [1, 0, 0]);
    assert.match(String(lossFields.agentResponses), /^\(none\)$/);
  });

  test('a conversation cut off by the turn limit scores 0 even with the right database', async () => {
    server.enqueue(reply.text('Return my kettle and clock.'));
    const env = environment(1);
    const { input } = await env.reset(train0);
    await callTool(input, 'return_delivered_order_items', RETURN_ARGS);
    assert.deepEqual(await env.step('Done.', NO_CALLS), { done: true }); // the simulator's limit: it stops without a model call
    const { metrics, lossFields } = await env.evaluate();
    assert.deepEqual([metrics.ended, metrics.actionReward, metrics.reward], [0, 1, 0]);
    assert.match(String(lossFields.loss), /ran out of turns/);
  });

  test('samples and options that are wrong are errors naming the field', async () => {
    const env = environment();
    await assert.rejects(env.reset({ id: 's1', fields: { split: 'train', taskIndex: 500 } }), /task sample "s1": field "taskIndex" must be an integer from 0 to 499/);
    await assert.rejects(env.reset({ id: 's2', fields: { split: 'validation', taskIndex: 0 } }), /task sample "s2": field "split" must be one of train, dev, test/);
    await assert.rejects(env.step('hi', NO_CALLS), /step\(\) before reset\(task\)/);
    assert.throws(() => createEnvironment({}), /"dataDir" must be the path/);
    assert.throws(() => createEnvironment({ dataDir: DATA }), /"user" must be \{ baseUrl, model/);
    assert.throws(() => createEnvironment({ dataDir: DATA, user: { baseUrl: server.baseUrl } }), /"user\.model" must be a non-empty string/);
    assert.throws(() => createEnvironment({ dataDir: DATA, user: { baseUrl: server.baseUrl, model: 'm' }, maxUserTurns: 0 }), /"maxUserTurns" must be a positive integer/);
  });

  test('createEnvironment (the module entry point) builds the user simulator from plain options', async () => {
    server.enqueue(reply.text('Hello there.'));
    const env = createEnvironment({ dataDir: DATA, user: { baseUrl: server.baseUrl, model: 'sim-model' }, split: 'dev' });
    const { input } = await env.reset({ id: 'd0', fields: { taskIndex: 0 } });
    assert.equal(input.message, 'Hello there.');
    const request = server.completionRequests.at(-1)!;
    assert.equal(request.body.model, 'sim-model');
    assert.ok(request.body.messages[0].content.includes(loadRetailTasks(DATA, 'dev')[0].instruction));
    await env.evaluate(); // closes the session
  });

  test('as workspace modules, bundled separately by the engine’s loader, tools and environment share the episode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-tau-ws-'));
    try {
      writeFileSync(join(dir, 'tools.ts'), `export { tools } from ${JSON.stringify(repoPath('src/evals/tau-retail/tools.ts'))};\n`);
      writeFileSync(join(dir, 'env.ts'), `export { createEnvironment } from ${JSON.stringify(repoPath('src/evals/tau-retail/environment.ts'))};\n`);
      const loaded = await loadToolsModule(join(dir, 'tools.ts'));
      assert.equal(loaded.schemas.length, 16);
      const create = await loadEnvironmentModule(join(dir, 'env.ts'));
      server.enqueue(reply.text('Please return my kettle and clock.'), reply.text(STOP_TOKEN));
      const env = create({ dataDir: DATA, user: { baseUrl: server.baseUrl, model: 'user' }, split: 'train' });
      const { input } = await env.reset({ id: 't0', fields: { taskIndex: 0 } });
      const context = { agent: 'agent', toolCallId: 'c1', signal: new AbortController().signal, state: { sampleId: 't0', turn: 0, task: input } };
      assert.match(String(await loaded.handlers.return_delivered_order_items(RETURN_ARGS, context)), /"status": "return requested"/);
      assert.deepEqual(await env.step('Your return is requested.', NO_CALLS), { done: true });
      assert.equal((await env.evaluate()).metrics.reward, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
