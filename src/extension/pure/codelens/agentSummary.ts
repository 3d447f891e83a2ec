/**
 * What a prompt file's CodeLens says about its agent in a run: blame share, strongest incoming and outgoing
 * connection weights, trajectories through it, and the run's loss, each a short lens with its detail in the tooltip.
 * Pure (no `vscode`): computed once per run folder and cached, never from the document text, so typing in the prompt
 * never recomputes or moves a lens.
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

/** Which lens: what it shows and what clicking it does (the provider maps the kind to a command). */
export type LensKind = 'blame' | 'incoming' | 'outgoing' | 'loss';

export interface LensText {
  kind: LensKind;
  /** Short, so the lenses fit beside each other on one line of the editor. */
  title: string;
  /** The detail, shown on hover (`vscode.Command.tooltip`). */
  tooltip: string;
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

/**
 * The lenses of an agent's prompt file, in order: blame, strongest in, strongest out, loss. Each title is short
 * (VS Code cuts a lens line at the editor's edge, and four long titles did not fit); the numbers behind it are in the
 * tooltip. The blame title starts with "blame <share>%" (tests and the UI layer look for it).
 */
export function lensTexts(s: AgentRunSummary): LensText[] {
  const failing = s.totalTrajectories;
  const lenses: LensText[] = [
    {
      kind: 'blame',
      title: `blame ${pct(s.blameShare)} · ${s.trajectories.length}/${failing} trajectories`,
      tooltip:
        failing === 0
          ? `AgentChord: no failing trajectory in the latest run, so no blame for ${s.agent}.`
          : `AgentChord: ${s.agent} is on ${s.trajectories.length} of the latest run's ${failing} failing trajectories (input → … → loss). Click to list them.`,
    },
  ];
  if (s.strongestIn) {
    const c = s.strongestIn;
    lenses.push({
      kind: 'incoming',
      title: `in: ${c.other} ${pct(c.share)}`,
      tooltip: `Strongest incoming connection: ${c.other} → ${s.agent} carries ${connectionText(c)}, sample ${c.sampleId}. Click to open the graph on ${s.agent}.`,
    });
  }
  if (s.strongestOut) {
    const c = s.strongestOut;
    lenses.push({
      kind: 'outgoing',
      title: `out: → ${c.other} ${pct(c.share)}`,
      tooltip: `Strongest outgoing connection: ${s.agent} → ${c.other} carries ${connectionText(c)}, sample ${c.sampleId}. Click to open the graph on ${s.agent}.`,
    });
  }
  lenses.push({ kind: 'loss', title: shortLoss(s.lossSummary), tooltip: `Latest run: ${s.lossSummary}. Click to list the trajectories through ${s.agent}.` });
  return lenses;
}

/** "2/3 samples failed: The story should…" -> "2/3 samples failed" (the verbal loss goes to the tooltip). */
function shortLoss(summary: string): string {
  const colon = summary.indexOf(': ');
  return colon < 0 ? summary : summary.slice(0, colon);
}
