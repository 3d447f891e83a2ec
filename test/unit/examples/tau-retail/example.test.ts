/**
 * examples/tau-retail end to end: the system file validates, the shipped datasets are the derivation's output, and
 * `agentchord optimize` runs two training tasks against a local OpenAI-compatible server (agents, user simulator and
 * optimizer all scripted by ./replyRouter.ts), writing calls, scored samples, trajectories and a proposal; the run
 * converts to tau-bench's results format and scores as the scripted episodes deserve.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildExampleDatasets, EXAMPLE_DATASETS } from '../../../../src/evals/tau-retail/datasets';
import { convertRun, scoreResultsFile, summarizeResults, type TauRunResult } from '../../../../src/evals/tau-retail/runConversion';
import { tauRetailEval } from '../../../../src/cli/commands/eval/tau-retail';
import { runOptimize } from '../../../../src/cli/commands/optimize';
import { loadSystemFile } from '../../../../src/core/system';
import type { AgentCall, Proposal, SampleOutcome, Trajectory } from '../../../../src/core/engine/types';
import { OpenAITestServer } from '../../../support/openaiTestServer';
import { repoPath } from '../../repo';
import { CUSTOMERS, OPTIMIZER_ADDITION, routeReply } from './replyRouter';

const EXAMPLE = repoPath('examples', 'tau-retail');
const DATA = join(EXAMPLE, 'data');
const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

describe('examples/tau-retail: the workspace', () => {
  test('agentchord.yaml validates: only the attribution model folder (downloaded by the user) is missing', () => {
    const { system, problems } = loadSystemFile(join(EXAMPLE, 'agentchord.yaml'));
    assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);
    // The path also reads as a repository id (org/name), so the message goes on with how to pull it.
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /^model 'attribution': model folder 'models\/Qwen2\.5-0\.5B-Instruct' not found\b/);
    assert.ok(system);
    assert.deepEqual(system.order, ['manager', 'user_resolution', 'retrieval', 'order_modification', 'post_delivery', 'user_profile', 'responder']);
    assert.equal(system.output, 'responder');
    assert.equal(system.optimizer.batchSize, 1); // the paper: N = 1 on tau-bench
    // Every tool of tau-bench except `think` belongs to some agent.
    const used = new Set(system.agents.flatMap((a) => a.tools));
    const schemas = JSON.parse(readFileSync(repoPath('src/evals/tau-retail/retail_tools.json'), 'utf8')) as Array<{ function: { name: string } }>;
    assert.deepEqual(schemas.map((s) => s.function.name).filter((n) => !used.has(n)), ['think']);
  });

  test('the policy and the output formats are frozen regions of the prompts', () => {
    const policy = readFileSync(join(DATA, 'policy.md'), 'utf8').trim();
    const frozen = (agent: string) => {
      const text = readFileSync(join(EXAMPLE, 'prompts', `${agent}.chord.md`), 'utf8');
      return [...text.matchAll(/<DONT_CHANGE>([\s\S]*?)<\/DONT_CHANGE>/g)].map((m) => m[1]).join('\n');
    };
    assert.ok(frozen('manager').includes(policy));
    assert.ok(frozen('responder').includes(policy));
    assert.match(frozen('manager'), /<worker name>: <what it must do/);
    for (const worker of ['user_resolution', 'retrieval', 'order_modification', 'post_delivery', 'user_profile']) {
      assert.ok(frozen(worker).includes(`starts with "${worker}:"`), worker);
    }
    assert.ok(frozen('order_modification').includes(policy.slice(policy.indexOf('## Cancel pending order'), policy.indexOf('## Return delivered order')).trim()));
  });

  test('the datasets are the derivation from the shipped tasks: train, dev as validation, test in the paper order', () => {
    const built = buildExampleDatasets(DATA);
    for (const { file } of EXAMPLE_DATASETS) assert.equal(readFileSync(join(EXAMPLE, 'datasets', file), 'utf8'), built.get(file), file);
    const test = readJsonl<{ id: string; taskIndex: number }>(join(EXAMPLE, 'datasets', 'test.jsonl'));
    const order = (JSON.parse(readFileSync(join(DATA, 'agentchord_retail_test_order_seed42.json'), 'utf8')) as { order: number[] }).order;
    assert.deepEqual(test.map((s) => s.taskIndex), order);
    assert.equal(test[0].id, 'test-67');
    assert.equal(readJsonl(join(EXAMPLE, 'datasets', 'train.jsonl')).length, 500);
    assert.equal(readJsonl(join(EXAMPLE, 'datasets', 'validation.jsonl')).length, 20);
  });
});

describe('examples/tau-retail: agentchord optimize against a scripted endpoint', () => {
  let server: OpenAITestServer;
  let temp: string;
  let runDir: string;
  let optimizeOutput: { status: string; stepsDone: number; proposals: string[]; log: string[] };
  const savedKey = process.env.OPENAI_API_KEY;

  before(async () => {
    server = await OpenAITestServer.start({ replies: routeReply, apiKey: 'test-key' });
    process.env.OPENAI_API_KEY = 'test-key';
    temp = mkdtempSync(join(tmpdir(), 'agentchord-tau-example-'));
    // The example's system file, pointed at the test server, with absolute paths to the example's files (the run
    // folder and the cache go to the temp folder) and a two-task training slice. No attribution model (its weights
    // are not available here): connection weights are recorded as unavailable and every edge is kept.
    const system = parseYaml(readFileSync(join(EXAMPLE, 'agentchord.yaml'), 'utf8'));
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(EXAMPLE, p));
    system.models.qwen.baseUrl = server.baseUrl;
    delete system.models.attribution;
    delete system.attribution.model;
    for (const agent of Object.values(system.agents) as Array<{ prompt: string }>) agent.prompt = abs(agent.prompt);
    system.tools.module = abs(system.tools.module);
    system.environment.module = abs(system.environment.module); // dataDir stays relative: to the module's folder
    system.environment.options.user.baseUrl = server.baseUrl;
    system.loss.template = abs(system.loss.template);
    mkdirSync(join(temp, 'datasets'));
    const train = readJsonl<{ id: string }>(join(EXAMPLE, 'datasets', 'train.jsonl'));
    const slice = CUSTOMERS.map((c) => train.find((s) => s.id === c.sampleId)!);
    writeFileSync(join(temp, 'datasets', 'train.jsonl'), slice.map((s) => JSON.stringify(s) + '\n').join(''));
    system.datasets = { train: 'datasets/train.jsonl', validation: abs(system.datasets.validation), test: abs(system.datasets.test) };
    system.allowPathsOutside = true; // the paths above point into the example, outside the temp folder
    writeFileSync(join(temp, 'agentchord.yaml'), stringifyYaml(system));

    const out: string[] = [];
    const code = await runOptimize([temp, '--steps', '2', '--json'], (t) => out.push(t));
    optimizeOutput = JSON.parse(out.join(''));
    assert.equal(code, 0, out.join(''));
    runDir = (optimizeOutput as unknown as { run: string }).run;
  });

  after(async () => {
    await server.close();
    if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = savedKey;
    rmSync(temp, { recursive: true, force: true });
  });

  test('the run completes: one task per step, the failed one gives a proposal for the manager', () => {
    assert.equal(optimizeOutput.status, 'completed');
    assert.equal(optimizeOutput.stepsDone, 2);
    assert.match(optimizeOutput.log[0], /^step 1: train score 1\.000, 0 trajectories; every sample correct, no update$/);
    assert.match(optimizeOutput.log[1], /^step 2: train score 0\.000, \d+ trajectories; proposal for manager kept/);
    const proposal = JSON.parse(readFileSync(join(runDir, 'proposals', 'step-1.json'), 'utf8')) as Proposal;
    assert.equal(proposal.changes.length, 1);
    assert.equal(proposal.changes[0].agent, 'manager');
    assert.ok(proposal.changes[0].after.includes(OPTIMIZER_ADDITION));
    assert.ok(proposal.changes[0].after.includes(readFileSync(join(DATA, 'policy.md'), 'utf8').trim()), 'the frozen policy is kept');
    assert.ok(proposal.trajectories.length > 0 && proposal.trajectories.every((t) => t.sampleId === 's1:train-16'));
    // The prompt files are never written by optimize.
    assert.ok(!readFileSync(join(EXAMPLE, 'prompts', 'manager.chord.md'), 'utf8').includes(OPTIMIZER_ADDITION));
  });

  test('every request reached the server with the key; the user simulator and the optimizer were asked too', () => {
    const requests = server.completionRequests;
    assert.ok(requests.every((r) => r.headers.authorization === 'Bearer test-key'));
    const systems = requests.map((r) => String(r.body.messages[0].content));
    assert.equal(systems.filter((s) => s.startsWith('You are a user interacting with an agent.')).length, 6); // 3 lines per customer
    assert.equal(systems.filter((s) => s.startsWith('You improve the prompts')).length, 1);
  });

  test('calls.jsonl: each turn runs the seven agents; the tool calls act on the episode database', () => {
    const calls = readJsonl<AgentCall>(join(runDir, 'calls.jsonl'));
    const juan = calls.filter((c) => c.sampleId === 's0:train-4');
    assert.deepEqual([...new Set(juan.map((c) => c.turn))], [0, 1]);
    const firstManager = juan.find((c) => c.agent === 'manager' && c.turn === 0)!;
    assert.deepEqual(firstManager.blocks.map((b) => b.id), ['task.history', 'task.message']);
    const history = firstManager.blocks[0];
    assert.equal(firstManager.renderedInput.slice(history.charStart, history.charEnd), '(none: this is the customer’s first message)');
    const secondManager = juan.find((c) => c.agent === 'manager' && c.turn === 1)!;
    const secondHistory = secondManager.blocks[0];
    assert.match(secondManager.renderedInput.slice(secondHistory.charStart, secondHistory.charEnd), /^User: Hi, I'm Juan Rossi[\s\S]*Tool call: find_user_id_by_name_zip[\s\S]*Agent: Thank you, Juan\./);
    const tools = juan.flatMap((c) => c.toolCalls.map((t) => ({ agent: c.agent, name: t.name, result: t.result })));
    assert.deepEqual(
      tools.map((t) => `${t.agent}:${t.name}`),
      ['user_resolution:find_user_id_by_name_zip', 'retrieval:get_order_details', 'order_modification:cancel_pending_order'],
    );
    assert.equal(tools[0].result, 'juan_rossi_6696');
    assert.equal(JSON.parse(tools[1].result).status, 'pending');
    assert.equal(JSON.parse(tools[2].result).status, 'cancelled'); // the episode's database, changed by the tool
    const lastResponder = juan.filter((c) => c.agent === 'responder').at(-1)!;
    assert.deepEqual(lastResponder.blocks.map((b) => b.id), [
      'agent:manager',
      'agent:user_resolution',
      'agent:retrieval',
      'agent:order_modification',
      'agent:post_delivery',
      'agent:user_profile',
      'task.history',
      'task.message',
    ]);
  });

  test('samples.jsonl has the benchmark metrics; the loss states the facts the reward is made of', () => {
    const samples = readJsonl<SampleOutcome>(join(runDir, 'samples.jsonl'));
    assert.deepEqual(
      samples.map((s) => [s.sampleId, s.score, s.metrics.reward, s.metrics.actionReward, s.metrics.outputReward, s.metrics.ended]),
      [
        ['s0:train-4', 1, 1, 1, 1, 1],
        ['s1:train-16', 0, 0, 0, 1, 1],
      ],
    );
    assert.equal(samples[0].loss, '');
    const loss = samples[1].loss;
    assert.match(loss, /^The customer-service team failed a tau-bench retail task: reward 0 \(action reward\n0, output reward 1;/);
    assert.ok(loss.includes('Ground-truth actions (the changes the shop\'s database should have received, in order):\n1. cancel_pending_order({"order_id":"#W7613749","reason":"ordered by mistake"})'));
    assert.ok(loss.includes('Actions the team took:\n1. find_user_id_by_name_zip('));
    assert.ok(loss.includes('3. cancel_pending_order({"order_id":"#W7613749","reason":"no longer needed"})'));
    assert.ok(loss.includes('Action match: no: the final database differs from the one the ground-truth actions produce.'));
    assert.ok(loss.includes('Required outputs (what the customer had to be told):\n(none required)'));
    assert.ok(loss.includes('Output match: not applicable (the task requires no outputs).'));
    assert.ok(loss.includes('The team\'s messages to the customer:\n1. Thank you, Olivia.'));
    const trajectories = readJsonl<Trajectory>(join(runDir, 'trajectories.jsonl'));
    assert.ok(trajectories.length > 0);
    assert.ok(trajectories.every((t) => t.loss === loss && t.agents.at(-1) === 'responder'));
    assert.ok(trajectories.some((t) => t.agents.includes('manager')));
  });

  test('the run converts to tau-bench results that the evaluator scores as the episodes deserve', async () => {
    const { results, notes } = convertRun(runDir, DATA, { maxTurns: 30 });
    assert.deepEqual(notes, []); // optimize records every outcome, so no episode's end had to be guessed
    assert.deepEqual(
      results.map((r) => [r.info.sample_id, r.task_id, r.info.split, r.reward, r.info.reward_info.info.r_actions, r.trial]),
      [
        ['s0:train-4', 4, 'train', 1, 1, 0],
        ['s1:train-16', 16, 'train', 0, 0, 0],
      ],
    );
    const juan = results[0];
    assert.deepEqual(juan.info.reward_info.actions.map((a) => a.name), ['find_user_id_by_name_zip', 'get_order_details', 'cancel_pending_order']);
    assert.deepEqual(
      juan.traj.map((m) => m.role),
      ['user', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'tool', 'assistant'],
    );
    assert.deepEqual(juan.traj[0], { role: 'user', content: CUSTOMERS[0].opening });
    assert.match(String(juan.traj.at(-1)!.content), /^Your order #W7602708 has been cancelled/);
    assert.deepEqual(summarizeResults(results), { episodes: 2, tasks: 2, averageReward: 0.5, actionReward: 0.5, outputReward: null, passHatK: { '1': 0.5 } });

    // The results file scores the same when read back (the evaluator works from traj alone).
    const file = join(temp, 'results.json');
    const printed: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => (printed.push(chunk), true)) as typeof process.stdout.write;
    try {
      assert.equal(await tauRetailEval.run(['--run', runDir, '--out', file, '--json', '--data', DATA]), 0);
    } finally {
      process.stdout.write = write;
    }
    const cli = JSON.parse(printed.join(''));
    assert.equal(cli.summary.averageReward, 0.5);
    assert.deepEqual(cli.episodes.map((e: { reward: number }) => e.reward), [1, 0]);
    const written = JSON.parse(readFileSync(file, 'utf8')) as TauRunResult[];
    assert.deepEqual(written, results);
    assert.deepEqual(scoreResultsFile(written, DATA, 'test', file), results);

    // A results file whose Olivia episode used the reason she gave scores 1 on both tasks.
    const fixed = structuredClone(written);
    for (const m of fixed[1].traj) {
      if (m.role === 'assistant') for (const c of m.tool_calls ?? []) c.function.arguments = c.function.arguments.replace('no longer needed', 'ordered by mistake');
    }
    assert.deepEqual(scoreResultsFile(fixed, DATA, 'test', file).map((r) => r.reward), [1, 1]);
  });
});
