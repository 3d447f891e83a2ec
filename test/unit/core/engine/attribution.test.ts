// Connection weights end to end on the real tiny Llama (stories260k) as the attribution model: endpoint agents via
// the test server (surrogate), one agent on the local model itself (plain-text prompting, no chat template).
// The expected values are recomputed here independently: the text the agent saw, segmented by hand, tokenised with
// encodeSegments, and attributed with loadModel(...).attribute on the same spans.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAttributionRequest, makeAttributor, type Attributor } from '../../../../src/core/engine/attribution';
import type { LocalModels, LocalModel } from '../../../../src/protocol/localModel';
import { loadDataset } from '../../../../src/core/engine/dataset';
import { runForward, type SampleRun } from '../../../../src/core/engine/forward';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { inProcessModels } from '../../../../src/backend/inProcess';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import type { AgentCall, CallAttribution } from '../../../../src/core/engine/types';
import { loadModel } from '../../../../src/backend/runtime/loadModel';
import type { LoadedModel } from '../../../../src/backend/runtime/types';
import type { SystemConfig } from '../../../../src/core/system';
import { OpenAITestServer, reply, type RecordedRequest } from '../../../support/openaiTestServer';
import { fixtureSystem, newRun, roleOf, type FixtureSystem } from './helpers';
import { repoPath, sharedPath } from '../../repo';
import * as esbuild from 'esbuild';
import { BackendClient } from '../../../../src/core/backend/client';
import { remoteModels } from '../../../../src/core/backend/remoteModels';

const MODEL = sharedPath('models/stories260k');
const FIELD = { mean_l1_norm: 'meanL1', max_l1_norm: 'maxL1', mean_grad_input: 'meanGradInput', max_grad_input: 'maxGradInput' } as const;

/** Story-like replies, so the tiny story model's log-probs are ordinary. */
function storyReply(request: RecordedRequest) {
  const role = roleOf(request);
  return reply.text(role === 'planner' ? 'Tom had a big red ball.' : 'Tom gave the red ball to Lily. She was happy.');
}

describe('connection weights on stories260k', () => {
  let server: OpenAITestServer;
  let fx: FixtureSystem;
  let system: SystemConfig;
  let backend: LocalModels;
  let reference: LoadedModel;
  let graphs: string;
  let runs: SampleRun[];
  let stored: { calls: AgentCall[]; attribution: CallAttribution[] };

  before(async () => {
    server = await OpenAITestServer.start({ replies: storyReply });
    fx = fixtureSystem('three-agents', server.baseUrl);
    system = fx.system;
    // The attribution model, and the writer running on it (a local agent: prompted as plain text).
    system.models.tiny = { kind: 'local', name: 'tiny', path: MODEL, device: 'cpu', parameters: { max_tokens: 12 }, range: system.agents[0].range };
    system.attribution = { model: 'tiny', strategy: 'max_grad_input', topK: 1 };
    system.agents.find((a) => a.name === 'writer')!.model = 'tiny';
    graphs = mkdtempSync(join(tmpdir(), 'agentchord-graphs-'));
    backend = inProcessModels({ cacheDir: graphs });
    reference = await loadModel(MODEL, { device: 'cpu', cacheDir: graphs });
    const attributor = makeAttributor(system, backend) as Attributor;
    assert.ok(attributor);
    const samples = loadDataset(system, 'train').slice(0, 2);
    const run = newRun(system, samples.length);
    runs = await runForward({ system, samples, runFolder: run, models: makeModelResolver(system, { apiKey: () => undefined, localModels: backend }), attributor });
    stored = RunFolder.open(run.dir).read();
  });
  after(async () => {
    await server?.close();
    await backend?.dispose();
    await reference?.dispose();
    fx?.cleanup();
    if (graphs) rmSync(graphs, { recursive: true, force: true });
  });

  /** The text the agent saw, cut by hand: [before block 1, block 1, between, ..., after last block, output]. */
  function segmentsOf(call: AgentCall): string[] {
    const system = call.messages[0].content;
    const input = call.renderedInput;
    const segments: string[] = [];
    let cursor = 0;
    call.blocks.forEach((b, k) => {
      segments.push((k === 0 ? `${system}\n\n` : '') + input.slice(cursor, b.charStart));
      segments.push(input.slice(b.charStart, b.charEnd));
      cursor = b.charEnd;
    });
    segments.push(input.slice(cursor) + '\n\n', call.output);
    return segments;
  }

  test('every multi-block call has finite weights equal to the strategy aggregate of loadModel().attribute on the same spans', async () => {
    const multi = stored.calls.filter((c) => c.blocks.length > 1);
    assert.equal(multi.length, 4, 'solver and writer of two samples');
    for (const call of multi) {
      const a = stored.attribution.find((x) => x.callId === call.id)!;
      assert.equal(a.status, 'ok', `${call.id}: ${a.reason}`);
      assert.equal(a.attributionModel, 'tiny');
      assert.equal(a.strategy, 'max_grad_input');
      const segments = segmentsOf(call);
      const { ids, ranges } = reference.tokenizer.encodeSegments(segments);
      // The recorded token ranges are encodeSegments' ranges, exactly (an off-by-one fails here).
      call.blocks.forEach((b, k) => assert.deepEqual([b.tokenStart, b.tokenEnd], ranges[2 * k + 1], `${call.id} ${b.id} token range`));
      const output = ranges.at(-1)!;
      const expected = await reference.attribute({
        inputIds: ids.slice(0, output[1]),
        prefixLength: ranges[1][0],
        targetStart: output[0],
        spans: call.blocks.map((b, k) => ({ id: b.id, start: ranges[2 * k + 1][0], end: ranges[2 * k + 1][1] })),
      });
      assert.ok(Math.abs(a.logProb! - expected.logProb) <= 1e-4 * Math.abs(expected.logProb), `${call.id} logProb ${a.logProb} vs ${expected.logProb}`);
      for (const b of call.blocks) {
        const w = a.weights[b.id];
        const e = expected.connections[b.id][FIELD.max_grad_input];
        assert.ok(Number.isFinite(w), `${call.id} ${b.id} weight ${w}`);
        assert.ok(Math.abs(w - e) <= 1e-4 * Math.max(Math.abs(e), 1e-6), `${call.id} ${b.id}: ${w} vs ${e}`);
        assert.deepEqual(a.connections?.[b.id], expected.connections[b.id]);
      }
      // Per-token saliency of the tail, for heat maps.
      assert.equal(a.tokens?.offset, ranges[1][0]);
      assert.equal(a.tokens?.l1.length, output[1] - ranges[1][0]);
      assert.equal(a.tokens?.pieces.length, a.tokens?.l1.length);
      assert.ok(a.tokens!.l1.every((x) => Number.isFinite(x) && x >= 0));
    }
  });

  test('single-block calls get weight 1 without a gradient', () => {
    const planners = stored.attribution.filter((a) => a.callId.includes('/planner/'));
    assert.equal(planners.length, 2);
    for (const a of planners) {
      assert.equal(a.status, 'single-block');
      assert.deepEqual(a.weights, { 'task.question': 1 });
      assert.equal(a.tokens, undefined);
    }
  });

  test('surrogate is true for endpoint agents and false for the agent on the attribution model', () => {
    for (const a of stored.attribution) assert.equal(a.surrogate, !a.callId.includes('/writer/'), a.callId);
  });

  test('the local agent was prompted with the same plain text the attribution rebuilds (greedy continuation matches)', async () => {
    const writer = runs[0].calls.find((c) => c.agent === 'writer')!;
    const text = `${writer.messages[0].content}\n\n${writer.renderedInput}\n\n`;
    const ids = reference.tokenizer.encode(text);
    const greedy = await reference.generate(ids, { maxTokens: 12, temperature: 0, topP: 1, stop: [] });
    assert.equal(writer.output, greedy.text);
    assert.equal(writer.usage.promptTokens, ids.length);
    assert.ok(writer.output.length > 0);
  });

  test('the attributor reports unavailable (with the reason) when the backend fails, never numbers', async () => {
    const failing: LocalModels = {
      model: async () => {
        throw new Error('backend down');
      },
      dispose: async () => {},
    };
    const call = stored.calls.find((c) => c.agent === 'solver')!;
    const a = await makeAttributor(system, failing)!.attributeCall(call);
    assert.equal(a.status, 'unavailable');
    assert.match(a.reason ?? '', /backend down/);
    assert.deepEqual(a.weights, {});
  });

  test('a text longer than the context loses tokens from the left of the prefix only, and says so', async () => {
    const model = await backend.model(MODEL, 'cpu');
    const call = stored.calls.find((c) => c.agent === 'solver')!;
    const full = await buildAttributionRequest(model, call);
    assert.ok(!('unavailable' in full));
    const n = full.request.inputIds.length;
    const cut = await buildAttributionRequest({ ...model, info: { ...model.info, maxPositions: n - 5 } }, call);
    assert.ok(!('unavailable' in cut));
    assert.equal(cut.truncatedPrefixTokens, 5);
    assert.equal(cut.request.inputIds.length, n - 5);
    assert.equal(cut.request.inputIds[0], full.request.inputIds[0], 'BOS kept');
    assert.deepEqual(cut.request.inputIds.slice(1), full.request.inputIds.slice(6));
    assert.equal(cut.request.prefixLength, full.request.prefixLength - 5);
    assert.deepEqual(cut.request.spans, full.request.spans.map((s) => ({ ...s, start: s.start - 5, end: s.end - 5 })));
    const tooSmall = await buildAttributionRequest({ ...model, info: { ...model.info, maxPositions: n - full.request.prefixLength } }, call);
    assert.ok('unavailable' in tooSmall && /context/.test(tooSmall.unavailable));
  });

  test('with a chat template, the template frames the same user message and adds no extra special tokens', async () => {
    const model = await backend.model(MODEL, 'cpu');
    const seen: { segments?: string[]; addSpecialTokens?: boolean } = {};
    const templated: LocalModel = {
      ...model,
      info: { ...model.info, hasChatTemplate: true },
      renderChat: async (messages, addGenerationPrompt) =>
        messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join('') + (addGenerationPrompt ? '<|assistant|>\n' : ''),
      encodeSegments: async (segments, addSpecialTokens) => {
        Object.assign(seen, { segments, addSpecialTokens });
        return model.encodeSegments(segments, addSpecialTokens);
      },
    };
    const call = stored.calls.find((c) => c.agent === 'writer')!;
    const built = await buildAttributionRequest(templated, call);
    assert.ok(!('unavailable' in built));
    assert.equal(seen.addSpecialTokens, false);
    const expected = `<|system|>\n${call.messages[0].content}<|end|>\n<|user|>\n${call.renderedInput}<|end|>\n<|assistant|>\n${call.output}`;
    assert.equal(seen.segments!.join(''), expected);
    assert.equal(seen.segments![1], call.renderedInput.slice(call.blocks[0].charStart, call.blocks[0].charEnd));
  });

  test('without an attribution model there is no attributor', () => {
    assert.equal(makeAttributor({ ...system, attribution: { ...system.attribution, model: undefined } }, backend), undefined);
  });

  test('through the backend process (BackendClient, as the extension runs it) the outputs and weights are the same', async () => {
    const backendPath = repoPath('out', 'test-fixtures', `engine-backend-${process.pid}.js`);
    await esbuild.build({
      entryPoints: [repoPath('src/backend/main.ts')],
      outfile: backendPath,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['onnxruntime-node'],
      logLevel: 'warning',
      nodePaths: [repoPath('node_modules')],
    });
    const client = new BackendClient({ backendPath, backendArgs: ['--device', 'cpu', '--cache-dir', graphs] });
    try {
      const samples = loadDataset(system, 'train').slice(0, 2);
      const run = newRun(system, samples.length);
      const viaProcess = await runForward({
        system,
        samples,
        runFolder: run,
        // No response cache: the local writer really generates again, in the backend process.
        models: makeModelResolver(system, { apiKey: () => undefined, localModels: remoteModels(client), cacheDir: false }),
        attributor: makeAttributor(system, remoteModels(client)),
      });
      for (const [i, r] of viaProcess.entries()) {
        for (const [k, call] of r.calls.entries()) {
          const inProcess = runs[i].calls[k];
          assert.equal(call.output, inProcess.output, call.id);
          assert.deepEqual(call.blocks, inProcess.blocks, call.id);
          const a = r.attributions[k];
          const b = runs[i].attributions[k];
          assert.equal(a.status, b.status, call.id);
          for (const [block, w] of Object.entries(b.weights)) {
            assert.ok(Math.abs(a.weights[block] - w) <= 1e-5 * Math.max(Math.abs(w), 1e-6), `${call.id} ${block}: ${a.weights[block]} vs ${w}`);
          }
        }
      }
    } finally {
      await client.dispose();
      rmSync(backendPath, { force: true });
    }
  });
});
