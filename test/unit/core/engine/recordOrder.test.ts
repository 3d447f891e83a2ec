/**
 * A forward run writes calls.jsonl and attribution.jsonl in sample order, whatever order the calls finished in
 * (concurrent samples; with remote backends, several machines): the run folder must not depend on who was faster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessModels } from '../../../../src/backend/inProcess';
import { loadDataset } from '../../../../src/core/engine/dataset';
import type { Attributor } from '../../../../src/core/engine/attribution';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { envApiKeyResolver } from '../../../../src/core/llm/openaiProvider';
import { runSplit } from '../../../../src/core/engine/runSplit';
import { RUN_FILES, type AgentCall, type CallAttribution } from '../../../../src/core/engine/types';
import { loadSystemFile } from '../../../../src/core/system';
import { repoPath } from '../../repo';

test('records are in sample order although the first sample finished last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-order-'));
  const models = inProcessModels({ cacheDir: join(dir, 'graphs') });
  try {
    cpSync(repoPath('examples', 'demo-blame'), dir, { recursive: true, filter: (src) => !src.includes('.agentchord') });
    const file = join(dir, 'agentchord.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('path: ../../models/chord-retrieval', `path: ${repoPath('models', 'chord-retrieval')}`));
    const { system } = loadSystemFile(file);
    assert.ok(system);
    const samples = loadDataset(system, 'train');
    assert.deepEqual(samples.map((s) => s.id), ['lucy', 'ben']);
    // Every call of the first sample waits until the second sample has finished all its calls.
    let releaseFirst!: () => void;
    const secondDone = new Promise<void>((r) => (releaseFirst = r));
    const perSample = new Map<string, number>();
    const callsPerSample = system.agents.length;
    const finished: string[] = [];
    const attributor: Attributor = {
      async attributeCall(call: AgentCall): Promise<CallAttribution> {
        if (call.sampleId === 'lucy') await secondDone;
        finished.push(call.sampleId);
        const n = (perSample.get(call.sampleId) ?? 0) + 1;
        perSample.set(call.sampleId, n);
        if (call.sampleId === 'ben' && n === callsPerSample) releaseFirst();
        return { callId: call.id, status: 'unavailable', reason: 'test', surrogate: false, strategy: 'mean_l1_norm', weights: {} };
      },
    };
    const { folder } = await runSplit({ system, split: 'train', samples, models: makeModelResolver(system, { apiKey: envApiKeyResolver, localModels: models, cacheDir: false }), attributor, concurrency: 2 });
    assert.equal(finished[0], 'ben', 'the second sample really finished first');
    const ids = (name: string, key: 'sampleId' | 'callId') =>
      readFileSync(join(folder.dir, name), 'utf8').trim().split('\n').map((l) => String((JSON.parse(l) as Record<string, unknown>)[key]));
    assert.deepEqual(ids(RUN_FILES.calls, 'sampleId'), [...Array(callsPerSample).fill('lucy'), ...Array(callsPerSample).fill('ben')]);
    const callIds = readFileSync(join(folder.dir, RUN_FILES.calls), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AgentCall).id);
    assert.deepEqual(ids(RUN_FILES.attribution, 'callId'), callIds, 'attribution lines follow the calls');
  } finally {
    await models.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
