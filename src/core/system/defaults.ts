/**
 * Values used when the system file leaves a field out. The schema's `default` annotations (shown on hover) must say
 * the same; a unit test checks that they do.
 */
import type { AttributionStrategy } from './types';

export const DEFAULTS = {
  endpointBaseUrl: 'https://api.openai.com/v1',
  localDevice: 'auto' as const,
  maxToolSteps: 8,
  attributionStrategy: 'mean_l1_norm' as AttributionStrategy,
  topK: 1,
  batchSize: 3,
  steps: 10,
  acceptanceTest: true,
  maxPromptChars: 8000,
  environmentMaxTurns: 30,
  /** Replay models: the task field holding each agent's reply. */
  replayField: 'replies',
  /** `input: { format: lines }`: how one block is written, and what joins the lines. */
  lineTemplate: '{{label}}: {{content}}',
  lineSeparator: '\n',
  /** Endpoints: one attempt's time-out and the retries after it (the provider's own defaults, src/core/llm). */
  endpointTimeoutSeconds: 120,
  endpointMaxRetries: 4,
  /** Awaited user code (src/core/util/timeout.ts): one tool handler, one environment method, one sample's loss. */
  toolTimeoutSeconds: 120,
  environmentTimeoutSeconds: 600,
  lossTimeoutSeconds: 600,
};
