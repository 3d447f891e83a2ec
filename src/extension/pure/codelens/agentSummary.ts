/**
 * What a prompt file's CodeLens says about its agent in a run: blame share, strongest incoming and outgoing
 * connection weights, trajectories through it, and the run's loss in one line. Pure (no `vscode`): computed once per
 * run folder and cached, never from the document text, so typing in the prompt never recomputes or moves a lens.
 */
import { agentBlame } from '../../../core/engine/backward';
import type { RunFolderContents } from '../../../core/engine/runFolder';
import type { AttributionGraph, Trajectory } from '../../../core/engine/types';

/**
 * The strongest connection at one end of an agent, over every sample of the run. Raw weights are comparable only
 * among the inputs of one call (their scale depends on the call), so "strongest" is by share: |weight| over the sum of
 * |weight| of all connections into the same node.
 */
export interface StrongestConnection {
  /** The agent (or input such as `task.question`) at the other end. */
  other: string;
  weight: number;
  /** |weight| / Σ |weight| of the connections into the receiving node, in [0, 1]. */
  share: number;
  sampleId: string;
}

export interface AgentRunSummary {
  agent: string;
  /** Share of the run's trajectories that pass through the agent, in [0, 1]. */
  blameShare: number;
  /** The trajectories through the agent. */
  trajectories: Trajectory[];
  totalTrajectories: number;
  strongestIn?: StrongestConnection;
  strongestOut?: StrongestConnection;
  /** e.g. "2/3 samples failed: The story should mention …", or "all 3 samples passed". */
  lossSummary: string;
}

/** Summaries of every agent named (agents absent from the run still get one, with zero blame). */
export function summarizeAgents(run: Pick<RunFolderContents, 'graphs' | 'trajectories' | 'samples'>, agents: readonly string[]): Map<string, AgentRunSummary> {
  const blame = new Map(agentBlame(run.trajectories, agents).map((b) => [b.agent, b]));
  const lossSummary = summarizeLoss(run.samples);
  const out = new Map<string, AgentRunSummary>();
  for (const agent of new Set([...agents, ...blame.keys()])) {
    out.set(agent, {
      agent,
      blameShare: blame.get(agent)?.share ?? 0,
      trajectories: run.trajectories.filter((t) => t.agents.includes(agent)),
      totalTrajectories: run.trajectories.length,
      strongestIn: strongest(run.graphs, agent, 'in'),
      strongestOut: strongest(run.graphs, agent, 'out'),
      lossSummary,
    });
  }
  return out;
}

function strongest(graphs: readonly AttributionGraph[], agent: string, direction: 'in' | 'out'): StrongestConnection | undefined {
  let best: StrongestConnection | undefined;
  for (const g of graphs) {
    const nodes = new Map(g.nodes.map((n) => [n.id, n]));
    const connections = g.edges.filter((e) => e.kind === 'connection' && e.weight !== undefined);
    const incomingTotal = new Map<string, number>();
    for (const e of connections) incomingTotal.set(e.to, (incomingTotal.get(e.to) ?? 0) + Math.abs(e.weight!));
    for (const e of connections) {
      const here = nodes.get(direction === 'in' ? e.to : e.from);
      const there = nodes.get(direction === 'in' ? e.from : e.to);
      if (here?.agent !== agent || !there) continue;
      const total = incomingTotal.get(e.to) ?? 0;
      const share = total > 0 ? Math.abs(e.weight!) / total : 0;
      if (!best || share > best.share) best = { other: there.agent ?? there.label, weight: e.weight!, share, sampleId: g.sampleId };
    }
  }
  return best;
}

/** The run's outcome in one line: how many samples failed, and the first verbal loss (shortened). */
export function summarizeLoss(samples: ReadonlyArray<{ loss: string }>, maxChars = 80): string {
  if (samples.length === 0) return 'no samples scored';
  const failed = samples.filter((s) => s.loss !== '');
  if (failed.length === 0) return `all ${samples.length} samples passed`;
  const first = failed[0].loss.replace(/\s+/g, ' ').trim();
  const short = first.length > maxChars ? `${first.slice(0, maxChars - 1)}…` : first;
  return `${failed.length}/${samples.length} samples failed: ${short}`;
}

/** A weight for a lens title: 3 significant digits, scientific when tiny. */
export function formatWeight(w: number): string {
  if (w === 0) return '0';
  return Math.abs(w) >= 1e-3 ? w.toPrecision(3) : w.toExponential(2);
}

/** e.g. "83% of its input (w 8.85e-4)". */
function connectionText(c: StrongestConnection): string {
  return `${Math.round(c.share * 100)}% of its input (w ${formatWeight(c.weight)})`;
}

/** The lens titles, in order: blame (+ trajectories), incoming, outgoing, loss. */
export function lensTitles(s: AgentRunSummary): { blame: string; incoming?: string; outgoing?: string; loss: string } {
  const pct = `${Math.round(s.blameShare * 100)}%`;
  return {
    blame: `AgentChord: blame ${pct} · ${s.trajectories.length}/${s.totalTrajectories} trajectories`,
    ...(s.strongestIn ? { incoming: `strongest in: ${s.strongestIn.other} ${connectionText(s.strongestIn)}` } : {}),
    ...(s.strongestOut ? { outgoing: `strongest out: → ${s.strongestOut.other} ${connectionText(s.strongestOut)}` } : {}),
    loss: s.lossSummary,
  };
}
