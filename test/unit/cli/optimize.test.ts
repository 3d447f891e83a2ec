/** `agentchord optimize` on endpoint models (a local OpenAI-compatible test server): exit codes, JSON, resume. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOptimize } from '../../../src/cli/commands/optimize';
import { OpenAITestServer, reply } from '../../support/openaiTestServer';
import { THREE_AGENT_PROMPTS, threeAgentYaml, writeSystem } from '../core/engine/loopFixtures';

test('optimize --max-calls stops with exit 3 and a resumable run; --resume completes it', async () => {
  const server = await OpenAITestServer.start({ replies: (r) => reply.text(`Echo: ${String(r.body.messages[1].content).slice(0, 40)}`) });
  try {
    const { dir } = writeSystem(
      threeAgentYaml('datasets: { train: data/train.jsonl }\nloss: { builtin: contains }\noptimizer: { kind: warnings, acceptanceTest: false }', server.baseUrl),
      {
        ...THREE_AGENT_PROMPTS,
        'data/train.jsonl': ['{"a": "Tom", "b": "Sue", "topic": "park", "reference": "dragon"}', '{"a": "Ann", "b": "Bob", "topic": "zoo", "reference": "dragon"}'].join('\n'),
      },
    );
    const out: string[] = [];
    const code = await runOptimize([dir, '--steps', '2', '--batch-size', '1', '--max-calls', '4', '--json'], (t) => out.push(t));
    assert.equal(code, 3);
    const first = JSON.parse(out.join(''));
    assert.equal(first.status, 'budget_exhausted');
    assert.equal(first.stepsDone, 1);
    assert.equal(first.proposals.length, 1);

    out.length = 0;
    assert.equal(await runOptimize([dir, '--steps', '2', '--batch-size', '1', '--resume', first.run, '--json'], (t) => out.push(t)), 0);
    const second = JSON.parse(out.join(''));
    assert.equal(second.run, first.run);
    assert.equal(second.status, 'completed');
    assert.equal(second.stepsDone, 2);
    assert.match(readFileSync(join(first.run, 'proposals', 'step-1.json'), 'utf8'), /## Warning/);
    assert.deepEqual(readFileSync(join(dir, 'prompts/storyteller.chord.md'), 'utf8'), THREE_AGENT_PROMPTS['prompts/storyteller.chord.md']);

    await assert.rejects(runOptimize([dir, '--steps', '0'], () => undefined), /--steps must be an integer >= 1/);
    await assert.rejects(runOptimize([dir, '--split', 'dev'], () => undefined), /--split: expected train, validation or test/);
    await assert.rejects(runOptimize([dir, '--resume', join(dir, 'nope')], () => undefined), /not a run folder/);
  } finally {
    await server.close();
  }
});
