/** The LLM user simulator against a real OpenAI-compatible test server with scripted replies. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import { AGENT_GREETING, STOP_TOKEN, UserSimulator } from '../../../../src/evals/tau-retail/userSimulator';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';

const INSTRUCTION = 'Your name is Omar Anderson and your zip code is 19031. Return #W6067464: Electric Kettle; Wall Clock.';

let server: OpenAITestServer;
before(async () => {
  server = await OpenAITestServer.start();
});
after(() => server.close());

const provider = () => new OpenAIProvider({ baseUrl: server.baseUrl, model: 'user-model', retry: { maxRetries: 0 } });

describe('UserSimulator', () => {
  test('plays the user with mirrored roles and ends on ###STOP###', async () => {
    const start = server.completionRequests.length;
    server.enqueue(reply.text('Hi, I want to return two items from an order.'), reply.text('Yes, please go ahead.'), reply.text(`Thanks! ${STOP_TOKEN}`));
    const user = new UserSimulator({ provider: provider(), instruction: INSTRUCTION });
    assert.equal(await user.start(), 'Hi, I want to return two items from an order.');
    assert.equal(user.done, false);
    assert.equal(await user.reply('Can you confirm the return of the kettle and the clock?'), 'Yes, please go ahead.');
    assert.equal(await user.reply('Done: the return is requested.'), `Thanks! ${STOP_TOKEN}`);
    assert.equal(user.done, true);
    assert.equal(user.stoppedByLimit, false);
    assert.equal(user.turns, 3);
    // Once stopped it makes no more model calls.
    assert.equal(await user.reply('Anything else?'), STOP_TOKEN);

    const requests = server.completionRequests.slice(start);
    assert.equal(requests.length, 3);
    const [first, , last] = requests.map((r) => r.body.messages as Array<{ role: string; content: string }>);
    assert.equal(first.length, 2);
    assert.equal(first[0].role, 'system');
    assert.ok(first[0].content.startsWith('You are a user interacting with an agent.\n\nInstruction: ' + INSTRUCTION + '\nRules:\n'));
    assert.match(first[0].content, /generate '###STOP###' as a standalone message/);
    assert.deepEqual(first[1], { role: 'user', content: AGENT_GREETING });
    assert.deepEqual(last.slice(2).map((m) => [m.role, m.content]), [
      ['assistant', 'Hi, I want to return two items from an order.'],
      ['user', 'Can you confirm the return of the kettle and the clock?'],
      ['assistant', 'Yes, please go ahead.'],
      ['user', 'Done: the return is requested.'],
    ]);
    assert.equal(requests[0].body.model, 'user-model');
    assert.equal(requests[0].body.temperature, undefined); // tau-bench passes no temperature
  });

  test('respects the turn limit: no model call past maxTurns, and says it stopped because of it', async () => {
    const start = server.completionRequests.length;
    server.enqueue(reply.text('I need help.'), reply.text('Still waiting.')); // a third request would find no reply and fail
    const user = new UserSimulator({ provider: provider(), instruction: INSTRUCTION, maxTurns: 2 });
    await user.start();
    assert.equal(await user.reply('One moment.'), 'Still waiting.');
    assert.equal(await user.reply('Another moment.'), STOP_TOKEN);
    assert.equal(user.done, true);
    assert.equal(user.stoppedByLimit, true);
    assert.equal(server.completionRequests.length - start, 2);
    assert.equal(server.pending, 0);
  });

  test('misuse is reported', async () => {
    assert.throws(() => new UserSimulator({ provider: provider(), instruction: INSTRUCTION, maxTurns: 0 }), /maxTurns must be a positive integer/);
    const user = new UserSimulator({ provider: provider(), instruction: INSTRUCTION });
    await assert.rejects(user.reply('hello'), /call start\(\) before reply\(\)/);
  });
});
