/**
 * `agentchord import --scaffold <dir>`: a workspace for a traced system, so that `optimize` can propose diffs to its
 * prompts. Each agent of the trace becomes an agent of `agentchord.yaml` whose prompt file holds its recorded system
 * prompt, on a replay model that answers with the recorded output of the trace; the traces are the data
 * (`data/traces.jsonl`: the task text, each agent's reply, and the verdict when one was given; with verdicts, the
 * traces without one go to `data/unjudged.jsonl`), and the loss is the
 * recorded verdict. Nothing here runs the user's own code: an accepted prompt is carried back into it by hand
 * (docs/import-traces.md).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { SYSTEM_FILE_NAME } from '../system/files';
import type { AgentCall } from '../engine/types';
import type { Reconstruction } from './reconstruct';
import { TraceError } from './types';

export interface ScaffoldPlan {
  dir: string;
  systemFile: string;
  /** Absolute paths and contents. */
  files: Array<{ path: string; content: string }>;
  /** The prompt file a call's agent has in the scaffold. */
  promptFileOf(call: AgentCall): string;
}

export interface ScaffoldOptions {
  /** The trace file it came from (named in the system file's description). */
  source: string;
  /** Attribution model folder (absolute); absent: the system file says to fill it in. */
  attributionModel?: string;
  /** Verdicts per trace id, written into the data for the `recorded` loss. */
  verdicts?: Map<string, { score: number; loss: string }>;
}

export function planScaffold(dir: string, built: Reconstruction, options: ScaffoldOptions): ScaffoldPlan {
  const agents = [...built.prompts.keys()];
  const promptPath = (agent: string) => join(dir, 'prompts', `${agent}.chord.md`);
  const inputs = agentInputs(built, agents);
  const outputs = new Map<string, number>();
  for (const t of built.traces) outputs.set(t.outputAgent, (outputs.get(t.outputAgent) ?? 0) + 1);
  const output = [...outputs].sort((a, b) => b[1] - a[1] || agents.indexOf(a[0]) - agents.indexOf(b[0]))[0][0];

  const lines: string[] = [
    `# Scaffolded by \`agentchord import\` from ${options.source}.`,
    '# Each agent replays what it said in the trace (provider: replay), so `agentchord optimize` proposes prompt changes',
    '# from the recorded failures; carry an accepted prompt back into your code by hand (docs/import-traces.md).',
    'version: 1',
    `name: ${JSON.stringify(basename(dir) || 'imported')}`,
    `description: ${JSON.stringify(`Imported from ${options.source}`)}`,
    '',
    'models:',
    '  recorded:',
    '    provider: replay',
    '    field: replies',
  ];
  if (options.attributionModel) {
    lines.push(
      '  # The attribution model: a local white-box model that stands in (as a surrogate) for the models your agents ran on.',
      '  # Replace it with one that reads your agents\' format, e.g. a Qwen3 or Llama 3.2 folder.',
      '  surrogate:',
      '    provider: local',
      `    path: ${JSON.stringify(portablePath(dir, options.attributionModel))}`,
    );
  }
  lines.push('', 'agents:');
  for (const agent of agents) {
    const prompts = built.prompts.get(agent) ?? [];
    lines.push(`  ${agent}:`);
    if (prompts.length > 1) lines.push(`    # The trace shows ${prompts.length} different system prompts for this agent; this file holds the first.`);
    lines.push(`    prompt: prompts/${agent}.chord.md`, '    model: recorded', `    inputs: [${inputs.get(agent)!.join(', ')}]`);
  }
  lines.push('', `output: ${output}`, '');
  if (options.attributionModel) lines.push('attribution: { model: surrogate, strategy: max_l1_norm, topK: 1 }', '');
  else lines.push('# attribution: { model: <a provider: local model>, strategy: max_l1_norm, topK: 1 }', '');
  lines.push(
    'datasets:',
    '  train: data/traces.jsonl',
    '',
    '# The verdict recorded with each trace (field "verdict": {score, loss}; `agentchord import --loss` fills it in).',
    'loss: { builtin: recorded }',
    '',
    'optimizer:',
    '  kind: warnings          # offline; `kind: llm` with an endpoint model rewrites the prompts instead',
    '  batchSize: 4',
    '  steps: 1',
    '  acceptanceTest: false   # replayed agents say the same whatever their prompt: nothing to measure',
    '',
  );

  // With verdicts, traces nobody judged go to a file of their own: the training data holds judged traces only.
  const judged = (id: string) => !options.verdicts || options.verdicts.has(id);
  const sample = (t: Reconstruction['traces'][number]) => {
    const replies: Record<string, string> = {};
    for (const c of t.calls) if (c.output.trim()) replies[c.agent] = c.output; // the agent's last text answer
    for (const agent of agents) replies[agent] ??= '';
    const first = t.calls[0];
    const user = first.blocks.filter((b) => b.source.kind === 'task').map((b) => first.renderedInput.slice(b.charStart, b.charEnd)).join('\n\n');
    const verdict = options.verdicts?.get(t.traceId);
    return JSON.stringify({ id: t.traceId, user, replies, ...(verdict ? { verdict } : {}) });
  };
  const data = built.traces.filter((t) => judged(t.traceId)).map(sample);
  const unjudged = built.traces.filter((t) => !judged(t.traceId)).map(sample);

  const files = [
    { path: join(dir, SYSTEM_FILE_NAME), content: lines.join('\n') },
    ...agents.map((agent) => ({ path: promptPath(agent), content: promptFile(agent, built.prompts.get(agent)?.[0] ?? '') })),
    { path: join(dir, 'data', 'traces.jsonl'), content: data.length ? data.join('\n') + '\n' : '' },
    ...(unjudged.length ? [{ path: join(dir, 'data', 'unjudged.jsonl'), content: unjudged.join('\n') + '\n' }] : []),
  ];
  return { dir, systemFile: join(dir, SYSTEM_FILE_NAME), files, promptFileOf: (call) => promptPath(call.agent) };
}

/** Relative to the workspace when inside it (the folder can move), else absolute. */
function portablePath(dir: string, path: string): string {
  const rel = relative(dir, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : path;
}

/** Writes the scaffold's files; refuses (writing nothing) when any of them exists. */
export function writeScaffold(plan: ScaffoldPlan): void {
  const existing = plan.files.filter((f) => existsSync(f.path)).map((f) => f.path);
  if (existing.length) {
    throw new TraceError(`import --scaffold: ${existing[0]} already exists${existing.length > 1 ? ` (and ${existing.length - 1} more)` : ''}; choose an empty folder`);
  }
  for (const f of plan.files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileAtomicSync(f.path, f.content);
  }
}

/**
 * Each agent's inputs in the system file: the agents whose outputs it received (only from agents that first
 * appeared before it, so the system stays a DAG), then `task.user` when it also received task text.
 */
function agentInputs(built: Reconstruction, agents: string[]): Map<string, string[]> {
  const inputs = new Map<string, Set<string>>(agents.map((a) => [a, new Set()]));
  for (const t of built.traces) {
    for (const c of t.calls) {
      for (const b of c.blocks) {
        const from = b.source.kind === 'agent' ? b.source.agent : 'task.user';
        if (from === c.agent) continue;
        if (b.source.kind === 'agent' && agents.indexOf(from) > agents.indexOf(c.agent)) continue;
        inputs.get(c.agent)!.add(from);
      }
    }
  }
  return new Map(
    agents.map((a) => {
      const set = inputs.get(a)!;
      const list = agents.filter((x) => set.has(x));
      if (set.has('task.user') || list.length === 0) list.push('task.user');
      return [a, list];
    }),
  );
}

/** The recorded system prompt as a prompt file. `{{` would read as a placeholder: it is spaced apart. */
function promptFile(agent: string, prompt: string): string {
  const body = prompt.replace(/\{\{/g, '{ {').replace(/\}\}/g, '} }');
  return `---\ndescription: ${JSON.stringify(`The system prompt of agent ${agent}, as recorded in the trace.`)}\n---\n${body}\n`;
}
