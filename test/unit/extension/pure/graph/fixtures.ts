// Systems and runs for the graph tests and the UI benchmark. Runs are made by the engine's own graph and backward
// code (buildAttributionGraph, collectTrajectories), so the view is tested on the data a real run writes.
import assert from 'node:assert/strict';
import { collectTrajectories } from '../../../../../src/core/engine/backward';
import { buildAttributionGraph } from '../../../../../src/core/engine/graph';
import type { AgentCall, AttributionGraph, CallAttribution, InputBlock, RunManifest, SampleOutcome, Trajectory } from '../../../../../src/core/engine/types';
import { loadSystemFromText, type SystemConfig } from '../../../../../src/core/system';
import type { RunContents } from '../../../../../src/extension/pure/graph/viewModel';

/** Loads a system file text; every file it names is taken to exist. */
export function systemFromYaml(yaml: string, file = '/fixture/sys/agentchord.yaml'): SystemConfig {
  const { system, problems } = loadSystemFromText(file, yaml, { exists: () => true });
  assert.ok(system, `fixture system must load: ${JSON.stringify(problems)}`);
  return system;
}

const HEADER = `version: 1
name: NAME
models:
  gpt:
    provider: openai
    baseUrl: http://127.0.0.1:1/v1
    model: m
agents:
`;

/** researcher <- task.question; critic <- researcher, task.question; writer <- researcher, critic. Output: writer. */
export const THREE_AGENTS = HEADER.replace('NAME', 'three') + `  researcher:
    prompt: prompts/researcher.chord.md
    model: gpt
    inputs: [task.question]
  critic:
    prompt: prompts/critic.chord.md
    model: gpt
    inputs: [researcher, task.question]
  writer:
    prompt: prompts/writer.chord.md
    model: gpt
    inputs: [researcher, critic]
output: writer
`;

/** The same system with agents and inputs listed in another order. */
export const THREE_AGENTS_PERMUTED = HEADER.replace('NAME', 'three') + `  writer:
    prompt: prompts/writer.chord.md
    model: gpt
    inputs: [critic, researcher]
  critic:
    prompt: prompts/critic.chord.md
    model: gpt
    inputs: [task.question, researcher]
  researcher:
    prompt: prompts/researcher.chord.md
    model: gpt
    inputs: [task.question]
output: writer
`;

/**
 * A system of `agents` agents with about `edges` inputs in all: agent i reads task.question (if i is 0) and the
 * agents before it, nearest first, spread evenly. Deterministic.
 */
export function denseSystemYaml(agents: number, edges: number): string {
  const names = Array.from({ length: agents }, (_, i) => `a${String(i).padStart(2, '0')}`);
  const possible = (agents * (agents - 1)) / 2;
  const fraction = Math.min(1, edges / possible);
  let text = HEADER.replace('NAME', `dense-${agents}`);
  let remaining = edges;
  names.forEach((name, i) => {
    const want = i === 0 ? 0 : Math.min(i, Math.max(1, Math.round(i * fraction)), remaining);
    remaining -= want;
    const inputs = i === 0 ? ['task.question'] : Array.from({ length: want }, (_, k) => names[i - 1 - k]!);
    text += `  ${name}:\n    prompt: prompts/${name}.chord.md\n    model: gpt\n    inputs: [${inputs.join(', ')}]\n`;
  });
  return text + `output: ${names[agents - 1]}\n`;
}

export function callId(sampleId: string, agent: string): string {
  return `${sampleId}/t0/${agent}/s0`;
}

/**
 * One sample of a forward run through `system` (one call per agent, in order) with connection weights given by
 * `weightOf(agent, source)`; returns the calls, attributions, graph and trajectories as the engine makes them.
 */
export function sampleRun(system: SystemConfig, sampleId: string, loss: string, weightOf: (agent: string, source: string) => number) {
  const calls: AgentCall[] = [];
  const attributions: CallAttribution[] = [];
  for (const name of system.order) {
    const agent = system.agents.find((a) => a.name === name)!;
    const blocks: InputBlock[] = agent.inputs.map((input, i) =>
      input.kind === 'task'
        ? { id: `task.${input.field}`, label: input.field, source: { kind: 'task', field: input.field }, charStart: i, charEnd: i + 1 }
        : { id: `agent:${input.agent}`, label: input.agent, source: { kind: 'agent', agent: input.agent, callId: callId(sampleId, input.agent) }, charStart: i, charEnd: i + 1 },
    );
    calls.push({
      id: callId(sampleId, name), runId: 'run', sampleId, turn: 0, agent: name, step: 0, model: 'gpt', promptFile: agent.promptFile,
      messages: [], renderedInput: '', blocks, output: `${name} says`, toolCalls: [],
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 }, cached: false, startedAt: '2026-01-01T00:00:00Z', durationMs: 1,
    });
    attributions.push({
      callId: callId(sampleId, name), status: blocks.length === 1 ? 'single-block' : 'ok', surrogate: false, strategy: 'mean_l1_norm',
      weights: Object.fromEntries(blocks.map((b) => [b.id, weightOf(name, b.id)])),
    });
  }
  const graph: AttributionGraph = buildAttributionGraph(sampleId, calls, attributions, { topK: system.attribution.topK, outputAgent: system.output });
  const trajectories: Trajectory[] = collectTrajectories(graph, loss);
  return { calls, attributions, graph, trajectories };
}

export function manifest(id: string, system: SystemConfig, createdAt = '2026-11-26T03:00:00.000Z'): RunManifest {
  return {
    id, systemFile: system.file, createdAt, kind: 'run', status: 'completed',
    dataset: { split: 'train', file: 'data.jsonl', samples: 2 },
    attribution: { strategy: 'mean_l1_norm', topK: system.attribution.topK, surrogate: false },
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  };
}

export function outcome(sampleId: string, score: number, loss: string): SampleOutcome {
  return { sampleId, split: 'train', output: '', metrics: {}, score, loss };
}

/**
 * A run of THREE_AGENTS (top-k 1) with three samples. s1 fails through the critic (writer reads critic 0.8,
 * researcher 0.2), s2 fails bypassing it (critic 0.4, researcher 0.6), s3 passes. The critic reads researcher 0.9.
 * Trajectories: s1 question -> researcher -> critic -> writer -> loss; s2 question -> researcher -> writer -> loss.
 */
export function threeAgentRun(system: SystemConfig, id = 'run-1'): RunContents & { calls: AgentCall[] } {
  const w1: Record<string, number> = { 'writer/agent:critic': 0.8, 'writer/agent:researcher': 0.2, 'critic/agent:researcher': 0.9, 'critic/task.question': 0.1 };
  const w2: Record<string, number> = { 'writer/agent:critic': 0.4, 'writer/agent:researcher': 0.6, 'critic/agent:researcher': 0.9, 'critic/task.question': 0.1 };
  const s1 = sampleRun(system, 's1', 'the answer is wrong', (agent, source) => w1[`${agent}/${source}`] ?? 1);
  const s2 = sampleRun(system, 's2', 'too vague', (agent, source) => w2[`${agent}/${source}`] ?? 1);
  const s3 = sampleRun(system, 's3', '', (agent, source) => w2[`${agent}/${source}`] ?? 1);
  return {
    manifest: manifest(id, system),
    samples: [outcome('s3', 1, ''), outcome('s1', 0, 'the answer is wrong'), outcome('s2', 0.5, 'too vague')],
    graphs: [s3.graph, s1.graph, s2.graph],
    trajectories: [...s1.trajectories, ...s2.trajectories, ...s3.trajectories],
    calls: [...s3.calls, ...s1.calls, ...s2.calls],
  };
}
