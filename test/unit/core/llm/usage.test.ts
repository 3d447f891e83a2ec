import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRICES, UsageLedger, priceFor } from '../../../../src/core/llm/usage';

const response = (promptTokens: number, completionTokens: number, cached = false) => ({ usage: { promptTokens, completionTokens }, cached });

test('priceFor: exact names, dated snapshots, and no confusion between gpt-4o and gpt-4o-mini', () => {
  assert.equal(priceFor('gpt-4o', DEFAULT_PRICES), DEFAULT_PRICES['gpt-4o']);
  assert.equal(priceFor('gpt-4o-2024-08-06', DEFAULT_PRICES), DEFAULT_PRICES['gpt-4o']);
  assert.equal(priceFor('gpt-4o-mini-2024-07-18', DEFAULT_PRICES), DEFAULT_PRICES['gpt-4o-mini']);
  assert.equal(priceFor('llama3.1:8b', DEFAULT_PRICES), undefined);
  assert.equal(priceFor('gpt-4olympus', DEFAULT_PRICES), undefined);
});

test('costs per call, per agent, per step and per run; cache hits are free and counted apart', () => {
  const ledger = new UsageLedger({ 'my-model': { inputPerMillion: 1, outputPerMillion: 2 } });
  const r = ledger.record({ agent: 'planner', step: 0, model: 'my-model', response: response(1_000_000, 500_000) });
  assert.equal(r.costUsd, 2);
  assert.equal(r.unpriced, false);
  ledger.record({ agent: 'solver', step: 0, model: 'my-model', response: response(1000, 1000) });
  ledger.record({ agent: 'solver', step: 1, model: 'my-model', response: response(1000, 1000, true) });
  ledger.record({ agent: 'solver', step: 1, model: 'gpt-4o-mini', response: response(2_000_000, 0) });

  const total = ledger.total();
  assert.equal(total.calls, 3);
  assert.equal(total.cachedCalls, 1);
  assert.equal(total.promptTokens, 1_000_000 + 1000 + 2_000_000);
  assert.equal(total.completionTokens, 500_000 + 1000);
  assert.ok(Math.abs(total.costUsd - (2 + 0.003 + 0.3)) < 1e-9);
  assert.deepEqual(total.unpricedModels, []);

  const solver = ledger.byAgent().get('solver')!;
  assert.equal(solver.calls, 2);
  assert.equal(solver.cachedCalls, 1);
  assert.ok(Math.abs(solver.costUsd - 0.303) < 1e-9);
  assert.equal(ledger.byStep().get(0)!.calls, 2);
  assert.equal(ledger.byStep().get(1)!.cachedCalls, 1);
  assert.equal(ledger.all().length, 4);
});

test('a config override replaces a default price; an unknown model costs 0 and is flagged unpriced', () => {
  const ledger = new UsageLedger({ 'gpt-4o': { inputPerMillion: 100, outputPerMillion: 0 } });
  assert.equal(ledger.record({ agent: 'a', step: 0, model: 'gpt-4o', response: response(10_000, 0) }).costUsd, 1);
  const unknown = ledger.record({ agent: 'a', step: 0, model: 'qwen2.5:7b', response: response(10_000, 10_000) });
  assert.equal(unknown.costUsd, 0);
  assert.equal(unknown.unpriced, true);
  assert.deepEqual(ledger.total().unpricedModels, ['qwen2.5:7b']);
});
