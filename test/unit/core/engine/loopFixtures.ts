/** Small hand-built run records (calls, attributions) for graph, backward, optimizer and report tests. */
import type { AgentCall, CallAttribution, InputBlock, ToolCallRecord } from '../../../../src/core/engine/types';

export function makeCall(
  sampleId: string,
  agent: string,
  blocks: Array<Pick<InputBlock, 'id' | 'source'> & { text?: string }>,
  extra: { turn?: number; step?: number; output?: string; toolCalls?: ToolCallRecord[]; promptFile?: string } = {},
): AgentCall {
  const turn = extra.turn ?? 0;
  const step = extra.step ?? 0;
  let rendered = '';
  const located: InputBlock[] = blocks.map((b) => {
    const label = `## ${b.id}\n`;
    rendered += label;
    const charStart = rendered.length;
    rendered += (b.text ?? `content of ${b.id}`) + '\n\n';
    return { id: b.id, label: b.id, source: b.source, charStart, charEnd: rendered.length - 2 };
  });
  return {
    id: `${sampleId}/t${turn}/${agent}/s${step}`,
    runId: 'run-test',
    sampleId,
    turn,
    agent,
    step,
    model: 'm',
    promptFile: extra.promptFile ?? `/prompts/${agent}.chord.md`,
    messages: [{ role: 'user', content: rendered }],
    renderedInput: rendered,
    blocks: located,
    output: extra.output ?? `output of ${agent}`,
    toolCalls: extra.toolCalls ?? [],
    usage: { promptTokens: 10, completionTokens: 5, costUsd: 0 },
    cached: false,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
  };
}

export function weights(call: AgentCall, w: Record<string, number>): CallAttribution {
  return {
    callId: call.id,
    status: Object.keys(w).length === 1 ? 'single-block' : 'ok',
    surrogate: false,
    strategy: 'mean_l1_norm',
    weights: w,
  };
}

export function unavailable(call: AgentCall): CallAttribution {
  return { callId: call.id, status: 'unavailable', reason: 'no attribution model', surrogate: false, strategy: 'mean_l1_norm', weights: {} };
}

/** reporterA(task.a) and reporterB(task.b) -> storyteller(reporterA, reporterB, task.topic): the demo's shape. */
export function threeAgentSample(sampleId: string, w: { a: number; b: number; topic: number }) {
  const ra = makeCall(sampleId, 'reporterA', [{ id: 'task.a', source: { kind: 'task', field: 'a' } }], { output: 'Tom had a red ball.' });
  const rb = makeCall(sampleId, 'reporterB', [{ id: 'task.b', source: { kind: 'task', field: 'b' } }], { output: 'Sue saw a big dog.' });
  const st = makeCall(
    sampleId,
    'storyteller',
    [
      { id: 'agent:reporterA', source: { kind: 'agent', agent: 'reporterA', callId: ra.id } },
      { id: 'agent:reporterB', source: { kind: 'agent', agent: 'reporterB', callId: rb.id } },
      { id: 'task.topic', source: { kind: 'task', field: 'topic' } },
    ],
    { output: 'Once upon a time Tom and the dog played.' },
  );
  const calls = [ra, rb, st];
  const attributions = [
    weights(ra, { 'task.a': 1 }),
    weights(rb, { 'task.b': 1 }),
    weights(st, { 'agent:reporterA': w.a, 'agent:reporterB': w.b, 'task.topic': w.topic }),
  ];
  return { calls, attributions, ra, rb, st };
}

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadSystemFile } from '../../../../src/core/system';
import type { SystemConfig } from '../../../../src/core/system/types';

/** Writes a system folder (agentchord.yaml + files) to a fresh temp dir and loads it; fails on any error. */
export function writeSystem(yaml: string, files: Record<string, string> = {}): { dir: string; system: SystemConfig } {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-loop-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dir, 'agentchord.yaml'), yaml);
  const { system, problems } = loadSystemFile(join(dir, 'agentchord.yaml'));
  if (!system) throw new Error(`test system does not load:\n${problems.map((p) => `${p.line}: ${p.message}`).join('\n')}`);
  return { dir, system };
}

/** The three-agent demo shape, endpoint models at `baseUrl`. */
export function threeAgentYaml(extra = '', baseUrl = 'http://127.0.0.1:9/v1'): string {
  return `version: 1
models:
  m: { provider: openai, baseUrl: ${baseUrl}, model: test-model }
agents:
  reporterA: { prompt: prompts/reporterA.chord.md, model: m, inputs: [task.a] }
  reporterB: { prompt: prompts/reporterB.chord.md, model: m, inputs: [task.b] }
  storyteller: { prompt: prompts/storyteller.chord.md, model: m, inputs: [reporterA, reporterB, task.topic] }
output: storyteller
${extra}`;
}

export const THREE_AGENT_PROMPTS: Record<string, string> = {
  'prompts/reporterA.chord.md': 'Report about {{task.a}} in one sentence.\n',
  'prompts/reporterB.chord.md': 'Report about {{task.b}} in one sentence.\n',
  'prompts/storyteller.chord.md': 'Tell a story about {{task.topic}} using both reports.\n\n<DONT_CHANGE>\nEnd with "The end."\n</DONT_CHANGE>\n',
};
