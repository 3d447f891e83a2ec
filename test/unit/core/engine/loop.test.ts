import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { optimize } from '../../../../src/core/engine/loop';
import { estimateOptimization } from '../../../../src/core/engine/estimate';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { OpenAIProvider } from '../../../../src/core/llm/openaiProvider';
import type { Optimizer } from '../../../../src/core/optimizer';
import { OpenAITestServer, reply, type RecordedRequest } from '../../../support/openaiTestServer';
import { THREE_AGENT_PROMPTS, threeAgentYaml, writeSystem } from './loopFixtures';

/**
 * The model behind every agent: reporters echo their task field; the storyteller writes "Tom and Sue" unless its
 * system prompt holds BAD (a worse candidate prompt).
 */
function scriptedAgents(request: RecordedRequest) {
  const system = request.body.messages[0].content as string;
  const user = request.body.messages[1]?.content as string;
  if (system.startsWith('Tell a story')) return reply.text(system.includes('BAD') ? 'Nothing happened.' : 'Tom and Sue played.');
  return reply.text(`Report: ${/<block[^>]*>\n([\s\S]*?)\n<\/block>/.exec(user)?.[1] ?? ''}`);
}

const DATA = {
  'data/train.jsonl': [
    { id: 't1', a: 'Tom', b: 'Sue', topic: 'a park', reference: ['Tom', 'Sue', 'dog'] },
    { id: 't2', a: 'Tom', b: 'Sue', topic: 'a dog', reference: ['Tom', 'dog'] },
  ]
    .map((x) => JSON.stringify(x))
    .join('\n'),
  'data/validation.jsonl': JSON.stringify({ id: 'v1', a: 'Tom', b: 'Sue', topic: 'x', reference: ['Tom', 'Sue'] }),
};

async function setup(extraYaml: string) {
  const server = await OpenAITestServer.start({ replies: scriptedAgents });
  const { dir, system } = writeSystem(
    threeAgentYaml(`datasets: { train: data/train.jsonl, validation: data/validation.jsonl }\nloss: { builtin: contains }\n${extraYaml}`, server.baseUrl),
    { ...THREE_AGENT_PROMPTS, ...DATA },
  );
  const models = () => new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', retry: { maxRetries: 0 } });
  return { server, dir, system, models };
}

const promptTexts = (dir: string) => Object.keys(THREE_AGENT_PROMPTS).map((f) => readFileSync(join(dir, f), 'utf8'));

describe('optimize (batch loop)', () => {
  test('budget exhaustion stops cleanly with a resumable checkpoint; resume finishes the run', async () => {
    const { server, dir, system, models } = await setup('optimizer: { kind: warnings, budget: { maxCalls: 4 } }');
    try {
      const first = await optimize({ system, models, steps: 2, batchSize: 1, acceptanceTest: false });
      assert.equal(first.status, 'budget_exhausted');
      assert.match(first.stopReason!, /4 model calls made, limit 4/);
      assert.equal(first.stepsDone, 1);
      assert.equal(server.completionRequests.length, 4, 'no call started past the limit');
      const saved = first.folder.read();
      assert.equal(saved.manifest.status, 'budget_exhausted');
      assert.match(saved.manifest.error!, /resume with --resume/);
      assert.equal(saved.checkpoint?.step, 1);
      assert.equal(saved.checkpoint?.usage.calls, 4);
      assert.deepEqual(saved.checkpoint?.history.map((h) => h.step), [0]);
      assert.equal(saved.proposals.length, 1);
      assert.match(saved.checkpoint!.prompts.storyteller, /## Warning/, 'the step-0 proposal is the current prompt');

      const second = await optimize({ system, models, steps: 2, batchSize: 1, acceptanceTest: false, resume: first.folder.dir, budget: { maxCalls: 100 } });
      assert.equal(second.status, 'completed');
      assert.equal(second.folder.dir, first.folder.dir);
      const done = RunFolder.open(first.folder.dir).read();
      assert.equal(done.manifest.status, 'completed');
      assert.equal(done.checkpoint?.step, 2);
      assert.deepEqual(done.checkpoint?.history.map((h) => h.step), [0, 1]);
      assert.deepEqual(done.proposals.map((p) => p.step), [0, 1]);
      assert.equal(done.manifest.usage.calls, 7, '4 before the stop + 3 after');
      assert.deepEqual(promptTexts(dir), Object.values(THREE_AGENT_PROMPTS), 'prompt files are never written');
      await assert.rejects(optimize({ system, models, resume: first.folder.dir }), /already completed/);
    } finally {
      await server.close();
    }
  });

  test('the acceptance test rejects a worse candidate and keeps a better one', async () => {
    const { server, dir, system, models } = await setup('');
    let calls = 0;
    // First proposal makes the storyteller worse; the second one makes no difference (kept: the score does not drop).
    const optimizer: Optimizer = {
      kind: 'llm',
      async propose(input) {
        calls++;
        const before = input.prompts.storyteller;
        const after = calls === 1 ? before.replace('Tell a story', 'Tell a story BAD') : before + '\nName every animal.\n';
        return { ok: true, reasoning: `try ${calls}`, changes: [{ agent: 'storyteller', file: system.agents[2].promptFile, before, after, warnings: [] }] };
      },
    };
    try {
      const r = await optimize({ system, models, optimizer, steps: 2, batchSize: 1 });
      assert.equal(r.status, 'completed');
      const { proposals, samples } = r.folder.read();
      assert.equal(proposals[0].accepted, false);
      assert.equal(proposals[0].scoreBefore, 1);
      assert.equal(proposals[0].scoreAfter, 0);
      assert.equal(proposals[1].accepted, true);
      assert.doesNotMatch(r.prompts.storyteller, /BAD/);
      assert.match(r.prompts.storyteller, /Name every animal/);
      assert.ok(samples.some((s) => s.split === 'validation' && s.sampleId === 's0:val-candidate:v1'));
      assert.match(r.log[0], /rejected \(validation 1\.000 -> 0\.000\)/);
      assert.deepEqual(promptTexts(dir), Object.values(THREE_AGENT_PROMPTS));
    } finally {
      await server.close();
    }
  });

  test('a cancelled run keeps a checkpoint and resumes from the step that did not finish', async () => {
    const { server, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const controller = new AbortController();
      const first = await optimize({
        system,
        models,
        steps: 2,
        batchSize: 2,
        acceptanceTest: false,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => p.step === 1 && p.done === 1 && controller.abort(),
      });
      assert.equal(first.status, 'cancelled');
      assert.equal(first.stepsDone, 1);
      const saved = first.folder.read();
      assert.equal(saved.manifest.status, 'cancelled');
      assert.equal(saved.checkpoint?.step, 1);
      const second = await optimize({ system, models, steps: 2, batchSize: 2, acceptanceTest: false, resume: first.folder.dir });
      assert.equal(second.status, 'completed');
      const done = second.folder.read();
      assert.deepEqual(done.checkpoint?.history.map((h) => h.step), [0, 1]);
      // Step 1 saw the same failures again: the warnings optimizer does not list a case twice.
      assert.deepEqual(done.proposals.map((p) => p.step), [0]);
      assert.match(second.log[0], /^step 2: .*no proposal: the failure cases are already listed/);
    } finally {
      await server.close();
    }
  });

  test('graphs and trajectories of each training sample go to the run folder', async () => {
    const { server, system, models } = await setup('optimizer: { kind: warnings }');
    try {
      const r = await optimize({ system, models, steps: 1, batchSize: 2, acceptanceTest: false });
      const { graphs, trajectories, samples } = r.folder.read();
      assert.deepEqual(graphs.map((g) => g.sampleId), ['s0:t1', 's0:t2']);
      // No attributor: the reporters' single blocks weigh 1 (as in the paper), the storyteller keeps every edge.
      assert.ok(graphs.every((g) => g.weighting === 'partial'));
      assert.ok(graphs.every((g) => g.edges.filter((e) => e.to.endsWith('/storyteller/s0')).every((e) => e.kept)));
      assert.ok(trajectories.length > 0 && trajectories.every((t) => t.path[t.path.length - 1] === 'loss'));
      assert.ok(trajectories.every((t) => t.path[0].startsWith('input:')));
      assert.deepEqual(samples.map((s) => s.score), [2 / 3, 0.5]);
      assert.ok(existsSync(join(r.folder.dir, 'proposals', 'step-0.json')));
    } finally {
      await server.close();
    }
  });

  test('the llm optimizer from the system file: its call is counted, its proposal is written', async () => {
    const server = await OpenAITestServer.start({
      replies: (r) =>
        String(r.body.messages[0].content).startsWith('You improve the prompts')
          ? reply.text('```json\n' + JSON.stringify({ reasoning: 'name the dog', agent_prompts: { storyteller: 'Tell a story about {{task.topic}} with a dog.\n' } }) + '\n```')
          : scriptedAgents(r),
    });
    try {
      const { system } = writeSystem(
        threeAgentYaml(`datasets: { train: data/train.jsonl }\nloss: { builtin: contains }\noptimizer: { model: m, acceptanceTest: false }`, server.baseUrl),
        { ...THREE_AGENT_PROMPTS, ...DATA },
      );
      assert.equal(system.optimizer.kind, 'llm');
      const models = () => new OpenAIProvider({ baseUrl: server.baseUrl, model: 'test-model', retry: { maxRetries: 0 } });
      const r = await optimize({ system, models, steps: 1, batchSize: 1 });
      assert.equal(r.status, 'completed');
      const { proposals, manifest } = r.folder.read();
      assert.equal(proposals[0].optimizer, 'llm');
      assert.equal(proposals[0].reasoning, 'name the dog');
      const after = proposals[0].changes[0].after;
      assert.match(after, /with a dog\./);
      assert.match(after, /<DONT_CHANGE>\nEnd with "The end\."\n<\/DONT_CHANGE>/, 'the dropped frozen region is put back');
      assert.match(proposals[0].changes[0].warnings[0], /restored verbatim/);
      assert.equal(manifest.usage.calls, 4, '3 agent calls + 1 optimizer call');
    } finally {
      await server.close();
    }
  });

  test('the pre-flight estimate counts agents x samples x (1 + tool steps), plus the acceptance test', () => {
    const { system } = writeSystem(threeAgentYaml('optimizer: { kind: warnings }'), THREE_AGENT_PROMPTS);
    const sample = { id: '1', fields: { a: 'x' } };
    const e = estimateOptimization({
      system,
      prompts: THREE_AGENT_PROMPTS,
      train: [sample],
      validation: [sample, sample],
      steps: 10,
      batchSize: 3,
      acceptanceTest: true,
      validationBatchSize: 3,
    });
    assert.deepEqual(e.perStep, { forwardCalls: 9, acceptanceCalls: 12, optimizerCalls: 0 });
    assert.equal(e.calls, 210);
    assert.ok(e.tokens > 0);
  });
});
