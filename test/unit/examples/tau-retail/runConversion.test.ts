/**
 * The run converter and evaluator on hand-made run folders: what counts as an action (not calls the engine could not
 * run, nothing after a transfer), which answers reach the customer, when an episode without a recorded outcome
 * counts as ended, pass^k over repeated trials, and the CLI's modes and errors.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertRun, RunConversionError, summarizeResults } from '../../../../src/evals/tau-retail/runConversion';
import { tauRetailEval } from '../../../../src/cli/commands/eval/tau-retail';
import type { AgentCall, ToolCallRecord } from '../../../../src/core/engine/types';
import { repoPath } from '../../repo';

const DATA = repoPath('examples', 'tau-retail', 'data');
const temp = mkdtempSync(join(tmpdir(), 'agentchord-tau-convert-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** A call as forward.ts records it; `message` becomes the task.message block of the rendered input. */
function call(sampleId: string, turn: number, agent: string, output: string, extra: { message?: string; toolCalls?: ToolCallRecord[] } = {}): AgentCall {
  const prefix = '<block source="task.message">\n';
  const renderedInput = extra.message === undefined ? '' : `${prefix}${extra.message}\n</block>`;
  return {
    id: `${sampleId}/t${turn}/${agent}/s0`,
    runId: 'run',
    sampleId,
    turn,
    agent,
    step: 0,
    model: 'qwen',
    promptFile: `/p/${agent}.chord.md`,
    messages: [],
    renderedInput,
    blocks:
      extra.message === undefined
        ? []
        : [{ id: 'task.message', label: 'task.message', source: { kind: 'task', field: 'message' }, charStart: prefix.length, charEnd: prefix.length + extra.message.length }],
    output,
    toolCalls: extra.toolCalls ?? [],
    usage: { promptTokens: 1, completionTokens: 1, costUsd: 0 },
    cached: false,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
  };
}

const tool = (id: string, name: string, args: Record<string, unknown>, result: string, error?: string): ToolCallRecord => ({
  id,
  name,
  arguments: JSON.stringify(args),
  result,
  ...(error === undefined ? {} : { error }),
});

function writeRun(name: string, calls: AgentCall[]): string {
  const dir = join(temp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'calls.jsonl'), calls.map((c) => JSON.stringify(c) + '\n').join(''));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ status: 'completed', systemFile: join(temp, 'missing.yaml') }));
  return dir;
}

// test-24 requires the outputs "polyester" and "cotton" and no database change; dev-17 requires nothing.
const transferred = [
  call('test-24', 0, 'manager', 'retrieval: ...', { message: 'What are my shirts made of?' }),
  call('test-24', 0, 'responder', 'One is Polyester, the other COTTON.'),
  call('test-24', 1, 'manager', 'none', { message: 'I want a human.' }),
  call('test-24', 1, 'responder', 'Transferring you now.', {
    toolCalls: [
      tool('t1', 'transfer_to_human_agents', { summary: 'wants a human' }, 'Transfer successful'),
      tool('t2', 'modify_user_address', { user_id: 'x' }, 'Error: the conversation was transferred to a human agent; no further actions are possible'),
    ],
  }),
];
const outOfTurns = [
  call('r1:test-24', 0, 'manager', 'none', { message: 'What are my shirts made of?' }),
  call('r1:test-24', 0, 'responder', 'polyester'),
  call('r1:test-24', 1, 'manager', 'none', { message: 'And the other?' }),
  call('r1:test-24', 1, 'responder', 'cotton'),
];
const engineError = [
  call('dev-17', 0, 'manager', 'retrieval: look', { message: 'Hi' }),
  call('dev-17', 0, 'retrieval', 'nothing', { toolCalls: [tool('t3', 'cancel_pending_order', {}, '{"error": "unknown tool"}', 'unknown tool "cancel_pending_order"')] }),
  call('dev-17', 0, 'responder', 'Hello!'),
];

describe('tau-retail run conversion', () => {
  test('actions stop at a transfer, calls the engine refused are no actions, the answer after a transfer is not sent', () => {
    const { results } = convertRun(writeRun('a', [...transferred, ...engineError]), DATA, { maxTurns: 2 });
    const [shirts, dev] = results;
    assert.deepEqual(shirts.info.reward_info.actions, [{ name: 'transfer_to_human_agents', kwargs: { summary: 'wants a human' } }]);
    assert.deepEqual(
      shirts.traj.map((m) => (m.role === 'assistant' && m.tool_calls ? `tool_calls:${m.tool_calls.length}` : m.role)),
      ['user', 'assistant', 'user', 'tool_calls:1', 'tool'],
    );
    assert.equal(shirts.info.ended, true); // ended by the transfer, although it used both turns
    assert.deepEqual(shirts.info.reward_info.info, { r_actions: 1, r_outputs: 1, outputs: { polyester: true, cotton: true } });
    assert.equal(shirts.reward, 1);
    assert.deepEqual([dev.task_id, dev.info.split, dev.info.reward_info.actions, dev.reward, dev.info.ended], [17, 'dev', [], 1, true]);
  });

  test('without a recorded outcome, an episode that used every turn did not end: reward 0; pass^k over trials', () => {
    const { results, notes } = convertRun(writeRun('b', [...transferred, ...outOfTurns]), DATA, { maxTurns: 2 });
    assert.deepEqual(notes, ['2 episodes had no recorded outcome (samples.jsonl): each counts as ended unless it used all 2 turns without a transfer']);
    assert.deepEqual(results.map((r) => [r.info.sample_id, r.trial, r.info.ended, r.info.reward_info.info.r_outputs, r.reward]), [
      ['test-24', 0, true, 1, 1],
      ['r1:test-24', 1, false, 1, 0],
    ]);
    assert.deepEqual(summarizeResults(results), { episodes: 2, tasks: 1, averageReward: 0.5, actionReward: 1, outputReward: 1, passHatK: { '1': 0.5, '2': 0 } });
  });

  test('a sample id that names no task is an error naming it', () => {
    assert.throws(() => convertRun(writeRun('c', [call('hello', 0, 'responder', 'hi')]), DATA), (err: Error) => err instanceof RunConversionError && /sample "hello": the id does not name a tau-retail task/.test(err.message));
    assert.throws(() => convertRun(writeRun('d', [call('dev-99', 0, 'responder', 'hi')]), DATA), /sample "dev-99": the dev split has no task 99 \(it has 20\)/);
    assert.throws(() => convertRun(temp, DATA), /not a run folder \(no calls\.jsonl\)/);
  });

  test('the CLI: --run prints the scores (maxTurns read from the system file, else 30), --predictions scores a results file', async () => {
    const capture = async (args: string[]) => {
      const printed: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => (printed.push(chunk), true)) as typeof process.stdout.write;
      try {
        assert.equal(await tauRetailEval.run(args), 0);
      } finally {
        process.stdout.write = write;
      }
      return printed.join('');
    };
    const run = writeRun('e', [...transferred, ...outOfTurns]);
    // The run's system file is gone: maxTurns 30, so the two-turn episode counts as ended and scores 1.
    const text = await capture(['--run', run, '--data', DATA, '--out', join(temp, 'results.json')]);
    assert.equal(
      text,
      `tau-bench retail: 2 episodes of 1 task from ${run}\naverage reward  1.0000\npass^1          1.0000\npass^2          1.0000\n` +
        `action reward   100.0 % of episodes\noutput reward   100.0 % of the episodes whose task requires outputs\nresults written to ${join(temp, 'results.json')}\n`,
    );
    writeFileSync(join(temp, 'system.yaml'), 'version: 1\nenvironment: { module: env.ts, maxTurns: 2 }\n');
    writeFileSync(join(run, 'run.json'), JSON.stringify({ status: 'completed', systemFile: join(temp, 'system.yaml') }));
    assert.match(await capture(['--run', run, '--data', DATA]), /average reward {2}0\.5000\npass\^1 {10}0\.5000\npass\^2 {10}0\.0000\n/);
    const scored = JSON.parse(await capture(['--predictions', join(temp, 'results.json'), '--json', '--data', DATA]));
    assert.deepEqual(scored.summary.passHatK, { '1': 1, '2': 1 });

    await assert.rejects(tauRetailEval.run(['--run', run, '--predictions', 'x.json']), /give exactly one of --run <run dir>, --predictions <file>, --replay-gt/);
    await assert.rejects(tauRetailEval.run(['--predictions', 'x.json', '--out', 'y.json']), /--out goes with --run/);
    await assert.rejects(tauRetailEval.run(['--run', join(temp, 'nope')]), /--run: .*nope is not a folder/);
    await assert.rejects(tauRetailEval.run(['--run', run, '--max-turns', '0']), /--max-turns must be an integer >= 1, got '0'/);
    writeFileSync(join(temp, 'bad.json'), '{"task_id": 1}');
    await assert.rejects(tauRetailEval.run(['--predictions', join(temp, 'bad.json'), '--data', DATA]), /bad\.json: expected a JSON array of episode results/);
  });
});
