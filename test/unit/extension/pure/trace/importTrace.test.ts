import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { defaultImportFolder, importSummary, traceStem } from '../../../../../src/extension/pure/trace/importTrace';

test('a trace file suggests its base name without any extension', () => {
  assert.equal(traceStem('/exports/genai-openai.otlp.jsonl'), 'genai-openai');
  assert.equal(traceStem('spans.json'), 'spans');
  assert.equal(traceStem('my trace (1).json'), 'my-trace-1');
  assert.equal(traceStem('.hidden.jsonl'), 'hidden');
  assert.equal(traceStem('...'), 'trace');
  assert.equal(traceStem('export_2024'), 'export_2024');
});

test('the default folder is the first of <stem>, <stem>-2, <stem>-3... that does not exist', () => {
  const parent = join('/ws', 'traces');
  const taken = new Set([join(parent, 'run'), join(parent, 'run-2')]);
  assert.equal(defaultImportFolder(parent, '/x/run.otlp.jsonl', (p) => taken.has(p)), join(parent, 'run-3'));
  assert.equal(defaultImportFolder(parent, '/x/other.jsonl', (p) => taken.has(p)), join(parent, 'other'));
});

test('the summary counts traces, calls, agents and hand-offs, and points to warnings', () => {
  const result = {
    traces: [
      { traceId: 'a', calls: 4, agents: ['planner', 'researcher', 'writer'], outputAgent: 'writer' },
      { traceId: 'b', calls: 1, agents: ['planner'], outputAgent: 'planner' },
    ],
    agents: ['planner', 'researcher', 'writer'],
    edges: [
      { from: 'planner', to: 'researcher', blocks: 2 },
      { from: 'researcher', to: 'writer', blocks: 1 },
    ],
    warnings: [],
  };
  assert.equal(importSummary(result, 'traces/run'), 'Imported 2 traces (5 calls, 3 agents, 2 hand-offs) into traces/run.');
  const one = { traces: [result.traces[1]!], agents: ['planner'], edges: [], warnings: ['w'] };
  assert.equal(importSummary(one, 'x'), 'Imported 1 trace (1 call, 1 agent, 0 hand-offs) into x. 1 warning: see the AgentChord output.');
});
