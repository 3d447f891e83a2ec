/** The JSON Schema editors use: documented everywhere, strict, and its defaults are the loader's defaults. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../../../../src/core/system/defaults';
import { DEFAULT_ENDPOINT_TIMEOUT_MS } from '../../../../src/core/llm/openaiProvider';
import { DEFAULT_RETRY_POLICY } from '../../../../src/core/llm/retry';
import { ATTRIBUTION_STRATEGIES } from '../../../../src/core/system';
import { repoPath } from '../../repo';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; definitions?: Record<string, Schema> };
const schema = JSON.parse(readFileSync(repoPath('schemas/agentchord.schema.json'), 'utf8')) as Schema;

/** Every object schema with `properties`, with the path that leads to it. */
function objectSchemas(s: Schema, path: string, out: Array<[string, Schema]> = []): Array<[string, Schema]> {
  if (s.properties) {
    out.push([path, s]);
    for (const [k, v] of Object.entries(s.properties)) objectSchemas(v, `${path}.${k}`, out);
  }
  for (const [k, v] of Object.entries(s.definitions ?? {})) objectSchemas(v, `#${k}`, out);
  return out;
}

describe('agentchord.schema.json', () => {
  test('every property has a description and unknown fields are rejected', () => {
    const objects = objectSchemas(schema, '$');
    assert.ok(objects.length > 10);
    for (const [path, s] of objects) {
      for (const [key, prop] of Object.entries(s.properties!)) {
        assert.equal(typeof prop.description, 'string', `${path}.${key} has a description`);
      }
      // The model schema only picks a branch by provider; its branches are the strict ones.
      if (path !== '#model') assert.equal(s.additionalProperties, false, `${path} rejects unknown fields`);
    }
  });

  test('documented defaults equal the loader defaults', () => {
    const p = schema.properties!;
    const d = schema.definitions!;
    assert.equal(p.attribution.properties!.strategy.default, DEFAULTS.attributionStrategy);
    assert.equal(p.attribution.properties!.topK.default, DEFAULTS.topK);
    assert.equal(p.optimizer.properties!.batchSize.default, DEFAULTS.batchSize);
    assert.equal(p.optimizer.properties!.steps.default, DEFAULTS.steps);
    assert.equal(p.optimizer.properties!.acceptanceTest.default, DEFAULTS.acceptanceTest);
    assert.equal(p.optimizer.properties!.maxPromptChars.default, DEFAULTS.maxPromptChars);
    assert.equal(p.environment.properties!.maxTurns.default, DEFAULTS.environmentMaxTurns);
    assert.equal(d.agent.properties!.maxToolSteps.default, DEFAULTS.maxToolSteps);
    assert.equal(d.endpointModel.properties!.baseUrl.default, DEFAULTS.endpointBaseUrl);
    assert.equal(d.localModel.properties!.device.default, DEFAULTS.localDevice);
    assert.equal(d.endpointModel.properties!.timeoutSeconds.default, DEFAULTS.endpointTimeoutSeconds);
    assert.equal(d.endpointModel.properties!.maxRetries.default, DEFAULTS.endpointMaxRetries);
    assert.equal(p.tools.properties!.timeoutSeconds.default, DEFAULTS.toolTimeoutSeconds);
    assert.equal(p.environment.properties!.timeoutSeconds.default, DEFAULTS.environmentTimeoutSeconds);
    assert.equal(p.loss.properties!.timeoutSeconds.default, DEFAULTS.lossTimeoutSeconds);
  });

  test('the endpoint defaults equal the provider defaults (120 s x 5 tries unless the file says less)', () => {
    assert.equal(DEFAULT_RETRY_POLICY.maxRetries, DEFAULTS.endpointMaxRetries);
    assert.equal(DEFAULT_ENDPOINT_TIMEOUT_MS, DEFAULTS.endpointTimeoutSeconds * 1000);
  });

  test('the strategies are the ones the types know', () => {
    assert.deepEqual(schema.properties!.attribution.properties!.strategy.enum, [...ATTRIBUTION_STRATEGIES]);
  });
});
