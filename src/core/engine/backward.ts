/**
 * The backward pass (GBC, section 3): the verbal loss is attached to the output node and propagated backward along
 * the kept edges of the attribution graph. Every path from a source (a task input, or a call nothing was kept into)
 * to the loss is a trajectory; the optimizer rewrites the prompts of the agents on them.
 */
import { buildAttributionGraph, LOSS_NODE_ID, type GraphOptions } from './graph';
import type { AgentCall, AttributionGraph, CallAttribution, Trajectory } from './types';

/** A safety bound: a wide unweighted graph can have exponentially many paths; the first ones (in order) are kept. */
export const MAX_TRAJECTORIES_PER_SAMPLE = 200;

/**
 * All paths source -> ... -> loss along kept edges, each ordered input first, loss last. Deterministic: incoming
 * edges are explored in graph order (calls in run order, blocks in input order). An empty loss (a correct sample)
 * blames nothing: no trajectories.
 */
export function collectTrajectories(graph: AttributionGraph, loss: string, limit = MAX_TRAJECTORIES_PER_SAMPLE): Trajectory[] {
  if (loss.trim() === '' || !graph.nodes.some((n) => n.id === LOSS_NODE_ID)) return [];
  const incoming = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!e.kept) continue;
    const list = incoming.get(e.to) ?? [];
    if (!list.includes(e.from)) list.push(e.from);
    incoming.set(e.to, list);
  }
  const agentOf = new Map(graph.nodes.map((n) => [n.id, n.kind === 'agent' ? n.agent : undefined]));
  const out: Trajectory[] = [];

  // Depth-first from the loss; `reversed` is the path loss -> ... -> current node.
  const walk = (node: string, reversed: string[]) => {
    if (out.length >= limit) return;
    const preds = (incoming.get(node) ?? []).filter((p) => !reversed.includes(p)); // a cycle cannot be a path
    if (preds.length === 0) {
      const path = [...reversed].reverse();
      out.push({ sampleId: graph.sampleId, path, agents: agentsOnPath(path, agentOf), loss });
      return;
    }
    for (const p of preds) walk(p, [...reversed, p]);
  };
  walk(LOSS_NODE_ID, [LOSS_NODE_ID]);
  return out;
}

/** Agent names along a path, in order; consecutive steps of the same agent count once. */
function agentsOnPath(path: string[], agentOf: Map<string, string | undefined>): string[] {
  const agents: string[] = [];
  for (const id of path) {
    const agent = agentOf.get(id);
    if (agent && agents[agents.length - 1] !== agent) agents.push(agent);
  }
  return agents;
}

export interface SampleBackward {
  graph: AttributionGraph;
  trajectories: Trajectory[];
}

/** Graph and trajectories of one sample. */
export function backwardSample(
  sampleId: string,
  calls: readonly AgentCall[],
  attributions: readonly CallAttribution[],
  loss: string,
  options: GraphOptions,
): SampleBackward {
  const graph = buildAttributionGraph(sampleId, calls, attributions, options);
  return { graph, trajectories: collectTrajectories(graph, loss) };
}

export interface AgentBlame {
  agent: string;
  /** Trajectories that pass through the agent. */
  trajectories: number;
  /** That count over all trajectories, in [0, 1]. */
  share: number;
}

/**
 * Per-agent blame: the share of trajectories through each agent. Agents listed in `allAgents` but on no trajectory
 * appear with 0, so a report can show every agent. Sorted by share (highest first), then by name.
 */
export function agentBlame(trajectories: readonly Trajectory[], allAgents: readonly string[] = []): AgentBlame[] {
  const counts = new Map<string, number>(allAgents.map((a) => [a, 0]));
  for (const t of trajectories) {
    for (const agent of new Set(t.agents)) counts.set(agent, (counts.get(agent) ?? 0) + 1);
  }
  const total = trajectories.length;
  return [...counts.entries()]
    .map(([agent, n]) => ({ agent, trajectories: n, share: total === 0 ? 0 : n / total }))
    .sort((a, b) => b.share - a.share || a.agent.localeCompare(b.agent));
}

/** Agents that appear on at least one trajectory, in first-seen order: the only ones an optimizer may change. */
export function blamedAgents(trajectories: readonly Trajectory[]): string[] {
  const seen: string[] = [];
  for (const t of trajectories) for (const a of t.agents) if (!seen.includes(a)) seen.push(a);
  return seen;
}
