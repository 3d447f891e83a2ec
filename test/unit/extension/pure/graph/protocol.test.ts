import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isGraphViewModel, isHostMessage, isWebviewMessage, message, type SelectRunMessage } from '../../../../../src/protocol/webview';
import { buildGraphViewModel } from '../../../../../src/extension/pure/graph/viewModel';
import { systemFromYaml, THREE_AGENTS } from './fixtures';

describe('webview protocol guards', () => {
  test('accept every well-formed webview -> host message', () => {
    for (const m of [
      { method: 'ready', params: {} },
      { method: 'openAgentPrompt', params: { agent: 'writer' } },
      { method: 'openEdgeInput', params: { callId: 's1/t0/writer/s0' } },
      { method: 'openEdgeInput', params: { from: 'agent:critic', to: 'agent:writer' } },
      { method: 'selectRun', params: { runId: 'r1' } },
      { method: 'selectSample', params: { sampleId: 's1' } },
      { method: 'toggleMode', params: { mode: 'topk' } },
      { method: 'toggleMode', params: { mode: 'full' } },
      { method: 'compareRuns', params: { a: 'r1', b: 'r2' } },
    ]) {
      assert.ok(isWebviewMessage(m), JSON.stringify(m));
    }
  });

  test('reject malformed webview messages', () => {
    for (const m of [
      null,
      'ready',
      [],
      { method: 'ready' },
      { method: 'ready', params: null },
      { method: 'unknown', params: {} },
      { method: 'toString', params: {} },
      { method: '__proto__', params: {} },
      { method: 'openAgentPrompt', params: { agent: '' } },
      { method: 'openAgentPrompt', params: { agent: 3 } },
      { method: 'openEdgeInput', params: { from: 'agent:a' } },
      { method: 'selectRun', params: {} },
      { method: 'toggleMode', params: { mode: 'TOPK' } },
      { method: 'compareRuns', params: { a: 'r1' } },
      { method: 'state', params: {} },
    ]) {
      assert.equal(isWebviewMessage(m), false, JSON.stringify(m));
    }
  });

  test('host messages: a built view model is a valid state; highlights need string lists', async () => {
    const model = await buildGraphViewModel(systemFromYaml(THREE_AGENTS), { runs: [] }, { mode: 'full' });
    assert.ok(isHostMessage({ method: 'state', params: model }));
    assert.ok(isGraphViewModel(JSON.parse(JSON.stringify(model))), 'the state survives postMessage / setState serialisation');
    assert.ok(isHostMessage({ method: 'highlight', params: { nodes: ['a'], edges: [] } }));
    assert.equal(isHostMessage({ method: 'highlight', params: { nodes: [1], edges: [] } }), false);
    assert.equal(isHostMessage({ method: 'state', params: { ...model, nodes: undefined } }), false);
    assert.equal(isHostMessage({ method: 'state', params: { ...model, mode: 'other' } }), false);
    assert.equal(isHostMessage({ method: 'ready', params: {} }), false);
  });

  test('message() builds what the guard accepts', () => {
    const m = message<SelectRunMessage>('selectRun', { runId: 'r1' });
    assert.deepEqual(m, { method: 'selectRun', params: { runId: 'r1' } });
    assert.ok(isWebviewMessage(m));
  });
});
