import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { backwardSample } from '../../../../src/core/engine/backward';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import { addWarnings, makeLlmOptimizer, makeWarningsOptimizer, type OptimizerInput } from '../../../../src/core/optimizer';
import { parseJsonObject } from '../../../../src/core/llm/parseJson';
import { frozenRegionsPreserved } from '../../../../src/core/prompt';
import { OpenAITestServer, reply } from '../../../support/openaiTestServer';
import { THREE_AGENT_PROMPTS, threeAgentSample, threeAgentYaml, writeSystem } from '../engine/loopFixtures';

/** A batch of one failed sample where the storyteller blames reporterA (top-1): reporterB is on no trajectory. */
function batch(extraYaml = '') {
  const { dir, system } = writeSystem(threeAgentYaml(`loss: { builtin: contains }\n${extraYaml}`), THREE_AGENT_PROMPTS);
  const prompts = Object.fromEntries(system.agents.map((a) => [a.name, readFileSync(a.promptFile, 'utf8')]));
  const { calls, attributions } = threeAgentSample('s1', { a: 0.9, b: 0.1, topic: 0.2 });
  const { trajectories } = backwardSample('s1', calls, attributions, 'The story never mentions the dog.', { topK: 1, outputAgent: 'storyteller' });
  const input: OptimizerInput = {
    system,
    prompts,
    trajectories,
    calls,
    outcomes: [{ sampleId: 's1', split: 'train', output: 'x', metrics: {}, score: 0, loss: 'The story never mentions the dog.' }],
    history: [{ step: 0, prompts: { ...prompts, reporterA: 'An older reporter prompt.\n' }, score: 0.4 }],
  };
  return { dir, system, input, prompts };
}

async function withServer<T>(replies: string[], fn: (provider: OpenAIProvider, server: OpenAITestServer) => Promise<T>): Promise<T> {
  const server = await OpenAITestServer.start({ replies: replies.map((r) => reply.text(r)) });
  try {
    return await fn(new OpenAIProvider({ baseUrl: server.baseUrl, model: 'opt-model', retry: { maxRetries: 0 } }), server);
  } finally {
    await server.close();
  }
}

describe('parseJsonObject', () => {
  test('accepts fences, leading prose and trailing commas; rejects the rest with a reason', () => {
    assert.deepEqual(parseJsonObject('Here you go:\n```json\n{"a": [1, 2,], "b": "}",}\n```\nThanks'), { ok: true, value: { a: [1, 2], b: '}' } });
    assert.deepEqual(parseJsonObject('I think {"a": 1} is it'), { ok: true, value: { a: 1 } });
    const bad = parseJsonObject('{"a": 1');
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /no JSON object/);
    assert.equal(parseJsonObject("{'a': 1}").ok, false);
  });
});

describe('llm optimizer', () => {
  test('sends prompts, history and trajectories; proposes only for blamed agents', async () => {
    const { input, system } = batch();
    const answer = JSON.stringify({
      reasoning: 'Reporter A must name the animal.',
      agent_prompts: {
        reporterA: 'Report about {{task.a}} in one sentence. Always name every animal.\n',
        reporterB: 'Report about {{task.b}}. CHANGED\n',
      },
    });
    await withServer([answer], async (provider, server) => {
      const result = await makeLlmOptimizer(provider).propose(input);
      assert.equal(result.ok, true);
      if (!result.ok) return;
      assert.deepEqual(result.changes.map((c) => c.agent), ['reporterA'], 'reporterB is on no trajectory');
      assert.equal(result.changes[0].file, system.agents[0].promptFile);
      assert.match(result.reasoning, /reporterB is on no trajectory/);
      const sent = server.completionRequests[0].body.messages[1].content as string;
      assert.match(sent, /## reporterA \(blamed: may change\)/);
      assert.match(sent, /## reporterB \(not blamed: keep as is\)/);
      assert.match(sent, /step 0: score 0\.400\n {2}reporterA prompt then:\n {2}<<<\nAn older reporter prompt\.\n {2}>>>/);
      assert.doesNotMatch(sent, /storyteller prompt then/, 'unchanged prompts are not repeated');
      assert.match(sent, /Loss: The story never mentions the dog\./);
      assert.match(sent, /<DONT_CHANGE>/, 'frozen regions are shown marked');
    });
  });

  test('bad JSON or unknown agents give no proposal and a clear message', async () => {
    const { input } = batch();
    await withServer(['I would rewrite it like so: {"agent_prompts": {"reporterA": "x"', '{"agent_prompts": {"ghost": "x", "reporterA": "y"}}', '{"agent_prompts": {"reporterA": 3}}'], async (provider) => {
      const optimizer = makeLlmOptimizer(provider);
      assert.deepEqual(await optimizer.propose(input), { ok: false, message: 'optimizer reply rejected: the reply holds no JSON object (no "{ ... }" found)' });
      const unknown = await optimizer.propose(input);
      assert.equal(unknown.ok, false);
      assert.match((unknown as { message: string }).message, /unknown agent ghost \(agents: reporterA, reporterB, storyteller\)/);
      assert.match(((await optimizer.propose(input)) as { message: string }).message, /prompt of reporterA is not a string/);
    });
  });

  test('a frozen region the optimizer rewrote survives verbatim, with a warning', async () => {
    const { input, prompts } = batch(); // the storyteller is on the trajectory
    const rewritten = 'Tell a story about {{task.topic}} using both reports. Name every animal.\n\n<DONT_CHANGE>\nEnd however you like.\n</DONT_CHANGE>\n';
    await withServer([JSON.stringify({ reasoning: 'r', agent_prompts: { storyteller: rewritten } })], async (provider) => {
      const result = await makeLlmOptimizer(provider).propose(input);
      assert.equal(result.ok, true);
      if (!result.ok) return;
      const change = result.changes.find((c) => c.agent === 'storyteller')!;
      assert.ok(frozenRegionsPreserved(prompts.storyteller, change.after).ok);
      assert.match(change.after, /End with "The end\."/);
      assert.doesNotMatch(change.after, /End however you like/);
      assert.match(change.after, /Name every animal/);
      assert.match(change.warnings.join(), /frozen region.*restored verbatim/);
    });
  });

  test('instruction leaks are stripped and the length budget is enforced', async () => {
    const { input } = batch('optimizer: { kind: warnings, maxPromptChars: 200 }');
    const leaky = 'Report about {{task.a}}.\nReply with one JSON object and nothing else.\n"agent_prompts": {}\n';
    const long = 'Report about {{task.a}}. ' + 'Be precise. '.repeat(40);
    await withServer([JSON.stringify({ agent_prompts: { reporterA: leaky } }), JSON.stringify({ agent_prompts: { reporterA: long } })], async (provider) => {
      const optimizer = makeLlmOptimizer(provider);
      const r1 = await optimizer.propose(input);
      assert.equal(r1.ok, true);
      if (r1.ok) {
        assert.equal(r1.changes[0].after, 'Report about {{task.a}}.\n');
        assert.match(r1.changes[0].warnings[0], /removed 2 lines echoing the optimizer's instructions/);
      }
      const r2 = await optimizer.propose(input);
      assert.equal(r2.ok, false);
      assert.match((r2 as { message: string }).message, /over the budget optimizer\.maxPromptChars = 200/);
    });
  });
});

describe('warnings optimizer', () => {
  test('adds the failure cases of blamed agents in a Warning section, outside frozen regions', async () => {
    const { input, prompts } = batch();
    const result = await makeWarningsOptimizer().propose(input);
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.deepEqual(result.changes.map((c) => c.agent), ['reporterA', 'storyteller']);
    const story = result.changes[1].after;
    assert.ok(frozenRegionsPreserved(prompts.storyteller, story).ok);
    assert.ok(story.indexOf('## Warning') > story.indexOf('</DONT_CHANGE>'));
    assert.match(story, /- Given ".*content of agent:reporterA.*", you wrote "Once upon a time Tom and the dog played\."; the final result was judged: "The story never mentions the dog\."/);
    assert.match(result.changes[0].after, /you wrote "Tom had a red ball\."/);
  });

  test('extends an existing section, deduplicates and stays bounded', () => {
    const base = 'Do the thing.\n\n## Warning\n\n- Given "a", you wrote "b"; the final result was judged: "c"\n\n## Output\n\nOne line.\n';
    const once = addWarnings(base, ['- Given "a", you wrote "b"; the final result was judged: "c"', '- new case'], 10_000);
    assert.equal(once.added, 1);
    assert.equal(once.text, 'Do the thing.\n\n## Warning\n\n- Given "a", you wrote "b"; the final result was judged: "c"\n- new case\n\n## Output\n\nOne line.\n');
    assert.equal(addWarnings(once.text, ['- new case'], 10_000).added, 0, 'nothing twice');
    const many = addWarnings('P\n', Array.from({ length: 10 }, (_, i) => `- case ${i}`), 10_000);
    assert.equal(many.added, 3);
    assert.match(many.warnings[0], /more failure cases than/);
    assert.equal(addWarnings('P\n', ['- a very long case '.repeat(20)], 100).added, 0);
  });

  test('a "## Warning" inside a frozen region is not edited', () => {
    const base = 'Intro\n<DONT_CHANGE>\n## Warning\nfixed\n</DONT_CHANGE>\n';
    const r = addWarnings(base, ['- case'], 10_000);
    assert.ok(r.text.startsWith(base.trimEnd()));
    assert.ok(frozenRegionsPreserved(base, r.text).ok);
    assert.match(r.text, /<\/DONT_CHANGE>\n\n## Warning\n\nFailures seen.*\n- case\n$/);
  });
});

