/**
 * examples/multiwoz end to end: `agentchord optimize` on a 2-dialogue slice against a local OpenAI-compatible server
 * with scripted replies (scriptedDesk.ts), then the run converted to predictions and scored by the evaluator, both
 * through the library and through `agentchord eval multiwoz --run`.
 *
 * The workspace is a temp folder whose agentchord.yaml is the example's, with absolute paths to the example's
 * prompts and modules, the server's address, the slice as datasets, and no attribution model (weights unavailable:
 * the blame graph keeps every edge).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadMultiwozEvalData } from '../../../../src/evals/multiwoz/data';
import { evaluateMultiwoz } from '../../../../src/evals/multiwoz/evaluator';
import { normaliseState } from '../../../../src/evals/multiwoz/normalise';
import { predictionsFromRunFolder } from '../../../../src/evals/multiwoz/runConversion';
import type { Predictions } from '../../../../src/evals/multiwoz/types';
import { multiwozEval } from '../../../../src/cli/commands/eval/multiwoz';
import { runOptimize } from '../../../../src/cli/commands/optimize';
import { runCommand } from '../../../../src/cli/commands/run';
import { runsDirFor } from '../../../../src/core/engine/runFolder';
import { RUN_FILES, type AgentCall, type Proposal, type SampleOutcome, type Trajectory } from '../../../../src/core/engine/types';
import { OpenAITestServer } from '../../../support/openaiTestServer';
import { EXAMPLE_DIR, goodReply, readDataset, scriptedDesk, SILENT_REPLY } from './scriptedDesk';

const GOOD = 'SNG0416';
const SILENT = 'SNG01367';
const API_KEY = 'test-key-multiwoz';

const train = readDataset('train');
const validation = readDataset('validation').slice(0, 1);
const slice = [GOOD, SILENT].map((id) => train.find((d) => d.id === id)!);

const responderPrompt = readFileSync(join(EXAMPLE_DIR, 'prompts', 'responder.chord.md'), 'utf8');
const responderBody = responderPrompt.slice(responderPrompt.indexOf('\n---\n') + 5);
const NEW_RESPONDER = responderBody.replace('Answer what the user asked', 'Always name a venue that matches, and answer what the user asked');

function lines<T>(file: string): T[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

describe('examples/multiwoz: optimize end to end on a scripted endpoint', () => {
  let server: OpenAITestServer;
  let dir: string;
  let runDir: string;
  let result: { status: string; proposals: string[]; history: Array<{ score: number }>; log: string[] };
  const savedKey = process.env.OPENAI_API_KEY;

  before(async () => {
    server = await OpenAITestServer.start({
      apiKey: API_KEY,
      replies: scriptedDesk({
        dialogues: [...slice, ...validation],
        good: new Set([GOOD, validation[0].id]),
        optimizerReply: JSON.stringify({ reasoning: 'The reply named no venue.', agent_prompts: { responder: NEW_RESPONDER } }),
      }),
    });
    process.env.OPENAI_API_KEY = API_KEY;
    dir = mkdtempSync(join(tmpdir(), 'agentchord-multiwoz-e2e-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'train.jsonl'), readLinesOf('train', [GOOD, SILENT]));
    writeFileSync(join(dir, 'data', 'validation.jsonl'), readLinesOf('validation', [validation[0].id]));

    const system = parse(readFileSync(join(EXAMPLE_DIR, 'agentchord.yaml'), 'utf8'));
    for (const model of Object.values(system.models) as Array<{ provider: string; baseUrl?: string }>) if (model.provider === 'openai') model.baseUrl = server.baseUrl;
    delete system.models.attributor;
    delete system.attribution.model;
    for (const agent of Object.values(system.agents) as Array<{ prompt: string }>) agent.prompt = join(EXAMPLE_DIR, agent.prompt);
    system.tools.module = join(EXAMPLE_DIR, system.tools.module);
    system.environment.module = join(EXAMPLE_DIR, system.environment.module);
    system.loss.template = join(EXAMPLE_DIR, system.loss.template);
    system.datasets = { train: 'data/train.jsonl', validation: 'data/validation.jsonl' };
    system.allowPathsOutside = true; // the paths above point into the example, outside the temp folder
    writeFileSync(join(dir, 'agentchord.yaml'), stringify(system));

    const out: string[] = [];
    const code = await runOptimize([dir, '--steps', '1', '--batch-size', '2', '--json'], (t) => out.push(t));
    result = JSON.parse(out.join(''));
    assert.equal(code, 0, result.log?.join('\n'));
    runDir = (result as unknown as { run: string }).run;
  });

  after(async () => {
    await server.close();
    if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = savedKey;
    rmSync(dir, { recursive: true, force: true });
  });

  test('the run completes with one proposal, kept by the acceptance test', () => {
    assert.equal(result.status, 'completed');
    assert.equal(result.proposals.length, 1);
    // Train score: the good dialogue scores 1, the silent one (inform 1: its goal names the venue) 1/3.
    assert.ok(Math.abs(result.history[0].score - (1 + 1 / 3) / 2) < 1e-9, String(result.history[0].score));
    const proposal = JSON.parse(readFileSync(result.proposals[0], 'utf8')) as Proposal;
    assert.deepEqual(proposal.changes.map((c) => c.agent), ['responder']);
    assert.ok(proposal.changes[0].after.includes('Always name a venue that matches'));
    // The output format (placeholders) is frozen and survives the rewrite.
    const frozen = responderPrompt.slice(responderPrompt.indexOf('<DONT_CHANGE>'), responderPrompt.indexOf('</DONT_CHANGE>'));
    assert.ok(proposal.changes[0].after.includes(frozen));
    assert.equal(proposal.accepted, true);
    // The request carried the key named by apiKeyEnv (the server refuses others).
    assert.ok(server.completionRequests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`));
  });

  test('every turn runs the whole graph; the workers call the tools and the tools answer from the database', () => {
    const calls = lines<AgentCall>(join(runDir, RUN_FILES.calls)).filter((c) => c.sampleId === `s0:${GOOD}`);
    const turns = new Set(calls.map((c) => c.turn));
    assert.deepEqual([...turns].sort(), [0, 1, 2, 3]);
    for (const turn of turns) {
      const agents = new Set(calls.filter((c) => c.turn === turn).map((c) => c.agent));
      assert.deepEqual([...agents].sort(), ['attraction', 'hotel', 'manager', 'responder', 'restaurant', 'taxi', 'train']);
    }
    const toolCalls = calls.flatMap((c) => c.toolCalls);
    assert.ok(toolCalls.length > 0);
    const query = toolCalls.find((c) => c.name.startsWith('query_'));
    assert.ok(query, 'a query tool was called');
    assert.match(query.result ?? '', /"count":\s*\d+/);
    // Teacher forcing: turn 2's input holds the gold clerk reply of turn 1, not the system's own.
    const responder = calls.find((c) => c.turn === 1 && c.agent === 'responder')!;
    assert.ok(responder.renderedInput.includes(slice[0].turns[0].system));
    assert.ok(!responder.renderedInput.includes(goodReply(slice[0], 0)));
  });

  test('samples carry the benchmark metrics and the two verbal losses', () => {
    const samples = lines<SampleOutcome>(join(runDir, RUN_FILES.samples));
    const good = samples.find((s) => s.sampleId === `s0:${GOOD}`)!;
    const silent = samples.find((s) => s.sampleId === `s0:${SILENT}`)!;
    assert.deepEqual(good.metrics, { inform: 1, success: 1, jga: 1, turns: 4, score: 1 });
    assert.equal(good.loss, '');
    assert.deepEqual(silent.metrics, { inform: 1, success: 0, jga: 0, turns: 4, score: 1 / 3 });
    // Turn-level JGA loss: predicted state, ground truth, false positives, false negatives, per wrong turn.
    const gold = slice[1].gold_states[0];
    const [domain, slots] = Object.entries(gold)[0];
    const [slot, value] = Object.entries(slots)[0];
    assert.match(silent.loss, new RegExp(`Turn 1 \\(user: "${escape(slice[1].turns[0].user)}"\\): predicted state \\{\\} \\(empty\\); ground truth \\{`));
    assert.ok(silent.loss.includes(`false negatives (in the ground truth but missing from the tool calls, or with another value): ${domain}-${slot}=${value}`));
    assert.match(silent.loss, /false positives \([^)]*\): none/);
    assert.equal((silent.loss.match(/^Turn \d+ /gm) ?? []).length, 4);
    // Dialogue-level Inform & Success loss: provided vs requested queries and information.
    assert.match(silent.loss, /Requested query: [^;]+; provided query: nothing offered/);
    assert.match(silent.loss, /Requested information: [^;]+; provided information: none \(missing: /);
    assert.match(silent.loss, /success FAILED/);
  });

  test('trajectories carry the loss of the failed dialogue back to the agents', () => {
    const trajectories = lines<Trajectory>(join(runDir, RUN_FILES.trajectories));
    assert.ok(trajectories.length > 0);
    assert.ok(trajectories.every((t) => t.sampleId === `s0:${SILENT}`));
    const samples = lines<SampleOutcome>(join(runDir, RUN_FILES.samples));
    assert.equal(trajectories[0].loss, samples.find((s) => s.sampleId === `s0:${SILENT}`)!.loss);
    assert.ok(trajectories.some((t) => t.agents.includes('manager') && t.agents.at(-1) === 'responder'));
  });

  test('the run converts to predictions that the evaluator scores as the scripted replies deserve', async () => {
    const predictions = predictionsFromRunFolder(runDir, { outputAgent: 'responder', label: 's0' });
    // What the scripted desk said: the good desk's replies with the gold states, the silent one's with no state.
    const expected: Predictions = {
      [GOOD.toLowerCase()]: slice[0].turns.map((_, t) => ({ response: goodReply(slice[0], t), state: slice[0].gold_states[t] })),
      [SILENT.toLowerCase()]: slice[1].turns.map(() => ({ response: SILENT_REPLY, state: {} })),
    };
    assert.deepEqual(Object.keys(predictions).sort(), Object.keys(expected).sort());
    for (const id of Object.keys(expected)) {
      assert.deepEqual(predictions[id].map((t) => t.response), expected[id].map((t) => t.response));
      assert.deepEqual(predictions[id].map((t) => normaliseState(t.state!)), expected[id].map((t) => normaliseState(t.state!)));
    }
    const data = loadMultiwozEvalData(join(EXAMPLE_DIR, 'data'));
    const scores = evaluateMultiwoz(predictions, data);
    assert.equal(scores.inform.total, 100);
    assert.equal(scores.success.total, 50);
    assert.ok(Math.abs(scores.dst!.jointAccuracy - 50) < 1e-6, String(scores.dst!.jointAccuracy));
    assert.deepEqual(scores, evaluateMultiwoz(expected, data));

    // The same through the CLI, with the predictions saved.
    const saved = join(dir, 'predictions.json');
    const out = await captureStdout(() => multiwozEval.run(['--run', runDir, '--label', 's0', '--save', saved, '--json', '--data', join(EXAMPLE_DIR, 'data')]));
    assert.equal(out.code, 0);
    const printed = JSON.parse(out.text);
    assert.equal(printed.inform.total, 100);
    assert.equal(printed.success.total, 50);
    assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')), predictions);
    // An optimize run holds each dialogue more than once (train, acceptance runs): without a prefix it says so.
    await assert.rejects(multiwozEval.run(['--run', runDir, '--json']), /ran more than once in this run .*choose the samples of one label/);
  });

  test('agentchord run on a split, then eval multiwoz --run: the README\'s "before" measurement', async () => {
    const ran = await captureStdout(() => runCommand.run([dir, '--split', 'validation', '--no-attribution', '--json']));
    assert.equal(ran.code, 0);
    const manifest = JSON.parse(ran.text) as { id: string; status: string };
    assert.equal(manifest.status, 'completed');
    const evaluated = await captureStdout(() =>
      multiwozEval.run(['--run', join(runsDirFor(dir), manifest.id), '--json', '--data', join(EXAMPLE_DIR, 'data')]),
    );
    const printed = JSON.parse(evaluated.text);
    // The validation dialogue gets the good desk: everything right.
    assert.deepEqual([printed.inform.total, printed.success.total, printed.dst.jointAccuracy > 99.999], [100, 100, true]);
  });
});

function readLinesOf(split: 'train' | 'validation', ids: string[]): string {
  const all = readFileSync(join(EXAMPLE_DIR, 'datasets', `${split}.jsonl`), 'utf8').split('\n').filter((l) => l.trim());
  return ids.map((id) => all.find((l) => JSON.parse(l).id === id)!).join('\n') + '\n';
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; text: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  // Only our text: the test runner reports through stdout too, in binary chunks, which must go through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await run();
    return { code, text: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}
