/**
 * The graph view model: what the panel draws, built from a system and (optionally) one of its runs. Pure and
 * vscode-free, so it is unit-tested and benchmarked in plain Node.
 *
 * Two modes:
 *  - full: the agent DAG of the system file (task inputs -> agents -> loss). With a run, each edge's weight is the
 *    mean connection weight of that input over all the run's calls, and node fill is each agent's share of all the
 *    run's trajectories (GBC's blame).
 *  - topk: the attribution graph of one sample: one node per agent call, only the top-k (kept) edges, and the
 *    sample's trajectories from input to loss.
 */
import { agentBlame } from '../../../core/engine/backward';
import type { RunFolderContents } from '../../../core/engine/runFolder';
import type { AttributionGraph, GraphNode, SampleOutcome, Trajectory } from '../../../core/engine/types';
import type { SystemConfig } from '../../../core/system/types';
import type {
  GraphMode,
  GraphViewModel,
  RunChoice,
  SampleSummary,
  ViewBlame,
  ViewEdge,
  ViewNode,
  ViewNodeKind,
  ViewTrajectory,
} from '../../../protocol/webview';
import { compareRuns, type RunScores } from './comparison';
import { byCodeUnits, layoutGraph } from '../../../core/util/graphLayout';

/** What the builder reads of a run folder. */
export type RunContents = Pick<RunFolderContents, 'manifest' | 'samples' | 'graphs' | 'trajectories'>;

export interface GraphRunData {
  /** Every run of the system, newest first (for the run picker). */
  runs: RunChoice[];
  /** The selected run, read; absent when the system has no run yet. */
  run?: RunContents;
  /** Two runs to compare, when the user asked for it. */
  compare?: { a: RunScores; b: RunScores };
}

export interface GraphViewOptions {
  mode: GraphMode;
  /** Sample to show in topk mode; default: the first failed sample that has a graph. */
  sampleId?: string;
  /** Trajectories listed at most (all of them still count for blame). */
  maxTrajectories?: number;
}

export const DEFAULT_MAX_TRAJECTORIES = 200;
export const LOSS_NODE = 'loss';
const NODE_HEIGHT = 30;
/** Longer labels are cut in the drawing (the full text is the node's tooltip). */
export const MAX_LABEL_CHARS = 28;
export const MIN_EDGE_WIDTH = 1;
export const MAX_EDGE_WIDTH = 6;
/** Width of edges without a weight (structural, or a run without attribution). */
export const UNWEIGHTED_EDGE_WIDTH = 1.5;

export const agentNodeId = (agent: string) => `agent:${agent}`;
export const taskNodeId = (field: string) => `input:task.${field}`;
/** Every environment turn of a multi-turn system, as one input of the agent DAG. */
export const ENVIRONMENT_NODE = 'input:environment';

/** A node or edge before layout. */
interface DraftNode {
  id: string;
  kind: ViewNodeKind;
  label: string;
  agent?: string;
  callId?: string;
}
interface DraftEdge {
  from: string;
  to: string;
  kind: 'connection' | 'structural';
  weight?: number;
  kept: boolean;
  callId?: string;
}
interface Draft {
  nodes: DraftNode[];
  edges: DraftEdge[];
  /** Trajectories as paths of draft node ids. */
  paths: Array<{ sampleId: string; agents: string[]; nodes: string[] }>;
  trajectories: Trajectory[];
  notice?: string;
}

export async function buildGraphViewModel(system: SystemConfig, data: GraphRunData, options: GraphViewOptions): Promise<GraphViewModel> {
  const run = data.run;
  const samples = sampleSummaries(run?.samples ?? []);
  const sampleId = run ? pickSample(run, options.sampleId) : undefined;

  let mode = options.mode;
  let draft: Draft;
  if (mode === 'topk' && run && sampleId !== undefined && run.graphs.some((g) => g.sampleId === sampleId)) {
    draft = topKDraft(run, sampleId);
  } else {
    const why =
      mode !== 'topk' ? undefined
      : !run ? 'No run of this system yet: showing the agent graph. Run it (agentchord run) to see connection weights and blame.'
      : `No attribution graph for sample ${sampleId ?? '(none)'} in run ${run.manifest.id}: showing the agent graph.`;
    mode = 'full';
    draft = fullDraft(system, run);
    if (why) draft.notice = why;
  }

  const agents = system.agents.map((a) => a.name);
  const total = draft.trajectories.length;
  const blame: ViewBlame[] = agentBlame(draft.trajectories, agents).map((b) => ({ ...b, total, text: blameText(b.trajectories, total) }));
  const shareOf = new Map(blame.map((b) => [b.agent, b.share]));
  const laid = await layOut(draft, shareOf);
  const limit = options.maxTrajectories ?? DEFAULT_MAX_TRAJECTORIES;

  return {
    system: { name: system.name, file: system.file },
    mode,
    runs: data.runs,
    ...(run ? { runId: run.manifest.id } : {}),
    samples,
    ...(sampleId !== undefined ? { sampleId } : {}),
    nodes: laid.nodes,
    edges: laid.edges,
    width: laid.width,
    height: laid.height,
    trajectories: viewTrajectories(draft.paths.slice(0, limit), laid.edges),
    trajectoriesOmitted: Math.max(0, draft.paths.length - limit),
    blame,
    ...(data.compare ? { comparison: compareRuns(data.compare.a, data.compare.b) } : {}),
    ...(draft.notice ? { notice: draft.notice } : {}),
  };
}

// ------------------------------------------------------------------------------------------------------------
// full mode: the agent DAG
// ------------------------------------------------------------------------------------------------------------

function fullDraft(system: SystemConfig, run: RunContents | undefined): Draft {
  const nodes = new Map<string, DraftNode>();
  const edges = new Map<string, DraftEdge>();
  const addEdge = (from: string, to: string, kind: DraftEdge['kind']) => {
    if (!edges.has(pairKey(from, to))) edges.set(pairKey(from, to), { from, to, kind, kept: true });
  };
  for (const agent of system.agents) nodes.set(agentNodeId(agent.name), { id: agentNodeId(agent.name), kind: 'agent', label: agent.name, agent: agent.name });
  for (const agent of system.agents) {
    for (const input of agent.inputs) {
      const from = input.kind === 'agent' ? agentNodeId(input.agent) : taskNodeId(input.field);
      if (input.kind === 'task' && !nodes.has(from)) nodes.set(from, { id: from, kind: 'input', label: input.field });
      addEdge(from, agentNodeId(agent.name), 'connection');
    }
  }
  if (system.environment) nodes.set(ENVIRONMENT_NODE, { id: ENVIRONMENT_NODE, kind: 'input', label: 'environment' });
  if (nodes.has(agentNodeId(system.output))) {
    nodes.set(LOSS_NODE, { id: LOSS_NODE, kind: 'loss', label: 'loss' });
    addEdge(agentNodeId(system.output), LOSS_NODE, 'structural');
  }
  if (!run) return { nodes: [...nodes.values()], edges: [...edges.values()], paths: [], trajectories: [] };

  // Mean weight per agent-level pair over every call of the run; an edge is kept if any sample's top-k kept it.
  const sums = new Map<string, { sum: number; count: number; kept: boolean }>();
  const graphs = new Map(run.graphs.map((g) => [g.sampleId, g]));
  for (const graph of graphs.values()) {
    const toDag = dagMapper(graph);
    for (const e of graph.edges) {
      const from = toDag(e.from);
      const to = toDag(e.to);
      if (!from || !to || from === to || !nodes.has(from) || !nodes.has(to)) continue;
      addEdge(from, to, e.kind); // a connection the system file does not name (environment, another agent's tool)
      const acc = sums.get(pairKey(from, to)) ?? { sum: 0, count: 0, kept: false };
      if (e.kind === 'connection' && typeof e.weight === 'number') {
        acc.sum += e.weight;
        acc.count++;
      }
      acc.kept ||= e.kept;
      sums.set(pairKey(from, to), acc);
    }
  }
  for (const [key, edge] of edges) {
    const acc = sums.get(key);
    if (!acc) continue;
    if (acc.count > 0) edge.weight = acc.sum / acc.count;
    edge.kept = acc.kept;
  }

  const paths = run.trajectories.map((t) => {
    const graph = graphs.get(t.sampleId);
    const toDag = graph ? dagMapper(graph) : (id: string) => (id === LOSS_NODE || id.startsWith('input:') ? id : undefined);
    const mapped: string[] = [];
    for (const id of t.path) {
      const node = toDag(id);
      if (node && nodes.has(node) && mapped[mapped.length - 1] !== node) mapped.push(node);
    }
    return { sampleId: t.sampleId, agents: t.agents, nodes: mapped };
  });
  return { nodes: [...nodes.values()], edges: [...edges.values()], paths, trajectories: run.trajectories };
}

/** Maps a sample graph's node id (a call, a tool node, an input) to the agent-DAG node it belongs to. */
function dagMapper(graph: AttributionGraph): (id: string) => string | undefined {
  const byId = new Map<string, GraphNode>(graph.nodes.map((n) => [n.id, n]));
  return (id) => {
    const node = byId.get(id);
    if (!node) return undefined;
    if (node.kind === 'loss') return LOSS_NODE;
    if (node.kind === 'input') return node.id.startsWith('input:environment') ? ENVIRONMENT_NODE : node.id;
    return node.agent ? agentNodeId(node.agent) : undefined;
  };
}

// ------------------------------------------------------------------------------------------------------------
// topk mode: one sample's attribution graph
// ------------------------------------------------------------------------------------------------------------

function topKDraft(run: RunContents, sampleId: string): Draft {
  const graph = run.graphs.find((g) => g.sampleId === sampleId)!;
  const kept = graph.edges.filter((e) => e.kept);
  const shown = new Set(kept.flatMap((e) => [e.from, e.to]));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes = graph.nodes
    .filter((n) => shown.has(n.id) || n.kind === 'loss')
    .map((n): DraftNode => ({ id: n.id, kind: n.kind, label: n.label, ...(n.agent ? { agent: n.agent } : {}), ...(n.callId ? { callId: n.callId } : {}) }));
  const edges = kept.map((e): DraftEdge => {
    const target = byId.get(e.to);
    const callId = target?.kind === 'agent' ? target.callId : undefined;
    return { from: e.from, to: e.to, kind: e.kind, ...(e.weight !== undefined ? { weight: e.weight } : {}), kept: true, ...(callId ? { callId } : {}) };
  });
  const trajectories = run.trajectories.filter((t) => t.sampleId === sampleId);
  const paths = trajectories.map((t) => ({ sampleId, agents: t.agents, nodes: t.path.filter((id) => byId.has(id)) }));
  const notice = graph.weighting === 'unweighted' ? 'This run has no connection weights (no attribution model): every edge is kept.' : undefined;
  return { nodes, edges, paths, trajectories, ...(notice ? { notice } : {}) };
}

// ------------------------------------------------------------------------------------------------------------
// shared steps
// ------------------------------------------------------------------------------------------------------------

async function layOut(draft: Draft, shareOf: Map<string, number>): Promise<{ nodes: ViewNode[]; edges: ViewEdge[]; width: number; height: number }> {
  const sizes = new Map(draft.nodes.map((n) => [n.id, { width: nodeWidth(n.label), height: NODE_HEIGHT }]));
  // Sorted first, so ids (and so the drawing) do not depend on the order the run recorded things in.
  const sortedEdges = [...draft.edges].sort(
    (a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to) || byCodeUnits(a.kind, b.kind) || (a.weight ?? 0) - (b.weight ?? 0),
  );
  const ids = sortedEdges.map((_, i) => `e${i}`);
  const layout = await layoutGraph(
    draft.nodes.map((n) => ({ id: n.id, ...sizes.get(n.id)! })),
    sortedEdges.map((e, i) => ({ id: ids[i]!, from: e.from, to: e.to })),
  );
  // Connection weights are comparable only among the inputs of one node (their scale depends on the call), so widths
  // are relative to the strongest connection into the same node.
  const maxWeightInto = new Map<string, number>();
  for (const e of sortedEdges) {
    if (e.kind === 'connection' && e.weight !== undefined) maxWeightInto.set(e.to, Math.max(maxWeightInto.get(e.to) ?? 0, Math.abs(e.weight)));
  }

  const weightInto = new Map<string, number>();
  for (const e of sortedEdges) {
    if (e.kind === 'connection' && e.weight !== undefined) weightInto.set(e.to, (weightInto.get(e.to) ?? 0) + Math.abs(e.weight));
  }
  const labelOf = new Map(draft.nodes.map((n) => [n.id, n.label]));

  const nodes = [...draft.nodes]
    .sort((a, b) => byCodeUnits(a.id, b.id))
    .map((n): ViewNode => ({
      ...n,
      blame: n.agent !== undefined ? (shareOf.get(n.agent) ?? 0) : 0,
      ...layout.nodes.get(n.id)!,
      ...sizes.get(n.id)!,
    }));
  const edges = sortedEdges.flatMap((e, i): ViewEdge[] => {
    const points = layout.edges.get(ids[i]!);
    if (!points) return []; // an end is missing from the graph (a damaged graphs.jsonl line)
    const total = weightInto.get(e.to) ?? 0;
    const share = e.kind === 'connection' && e.weight !== undefined && total > 0 ? Math.abs(e.weight) / total : undefined;
    const title = edgeTitle(labelOf.get(e.from) ?? e.from, labelOf.get(e.to) ?? e.to, e, share);
    return [{ id: ids[i]!, ...e, width: edgeWidth(e, maxWeightInto.get(e.to) ?? 0), ...(share !== undefined ? { share } : {}), title, points }];
  });
  return { nodes, edges, width: layout.width, height: layout.height };
}

/** Width proportional to |weight| (the grad·input strategies give signed weights; the sign shows in the tooltip). */
export function edgeWidth(edge: { kind: string; weight?: number }, maxWeight: number): number {
  if (edge.kind !== 'connection' || edge.weight === undefined) return UNWEIGHTED_EDGE_WIDTH;
  if (maxWeight <= 0) return MIN_EDGE_WIDTH;
  return Math.round((MIN_EDGE_WIDTH + (MAX_EDGE_WIDTH - MIN_EDGE_WIDTH) * (Math.abs(edge.weight) / maxWeight)) * 100) / 100;
}

/** What a blame share is of: the same number of failing trajectories can run through several agents. */
export function blameText(through: number, total: number): string {
  if (total === 0) return 'no failing trajectories';
  return `on ${through} of ${total} failing ${total === 1 ? 'trajectory' : 'trajectories'}`;
}

/**
 * An edge's hover text. The share, not the raw weight, leads: weights are comparable only among the inputs of one
 * node, so "73% of answerer's input weight" is what can be read across the graph.
 */
export function edgeTitle(from: string, to: string, edge: { kind: string; weight?: number }, share: number | undefined): string {
  if (edge.kind !== 'connection') return `${from} → ${to} (structural: no connection weight)`;
  if (edge.weight === undefined || share === undefined) return `${from} → ${to}: no connection weight in this run`;
  return `${from} → ${to}: ${Math.round(share * 100)}% of ${to}'s input weight (w ${formatEdgeWeight(edge.weight)})`;
}

/** 3 significant digits ("0.810", "8.12e-4"), like the CodeLens: the sign stays (grad·input weights can be negative). */
function formatEdgeWeight(w: number): string {
  if (w === 0) return '0';
  return Math.abs(w) >= 1e-3 ? w.toPrecision(3) : w.toExponential(2);
}

function nodeWidth(label: string): number {
  // About 7 px per character of the 12 px UI font, plus padding; measured text is not available in the host.
  return 24 + 7 * Math.min(label.length, MAX_LABEL_CHARS);
}

function viewTrajectories(paths: Draft['paths'], edges: readonly ViewEdge[]): ViewTrajectory[] {
  const edgeIds = new Map<string, string[]>();
  for (const e of edges) edgeIds.set(pairKey(e.from, e.to), [...(edgeIds.get(pairKey(e.from, e.to)) ?? []), e.id]);
  return paths.map((p, index) => {
    const onPath: string[] = [];
    for (let i = 1; i < p.nodes.length; i++) onPath.push(...(edgeIds.get(pairKey(p.nodes[i - 1]!, p.nodes[i]!)) ?? []));
    return { index, sampleId: p.sampleId, agents: p.agents, nodes: p.nodes, edges: onPath };
  });
}

function pickSample(run: RunContents, wanted: string | undefined): string | undefined {
  if (wanted !== undefined && run.samples.some((s) => s.sampleId === wanted)) return wanted;
  const withGraph = new Set(run.graphs.map((g) => g.sampleId));
  const failed = run.samples.find((s) => s.loss.trim() !== '' && withGraph.has(s.sampleId));
  return (failed ?? run.samples.find((s) => withGraph.has(s.sampleId)) ?? run.samples[0])?.sampleId;
}

/** In run order; a sample recorded twice (a resumed run) shows its last outcome. */
function sampleSummaries(samples: readonly SampleOutcome[]): SampleSummary[] {
  const last = new Map<string, SampleOutcome>();
  for (const s of samples) last.set(s.sampleId, s);
  return [...last.values()].map((s) => ({ id: s.sampleId, split: s.split, score: s.score, failed: s.loss.trim() !== '' }));
}

/** The run picker's line for a run. */
export function runChoice(run: Pick<RunContents, 'manifest' | 'samples'>): RunChoice {
  const scores = sampleSummaries(run.samples).map((s) => s.score).filter(Number.isFinite);
  const { manifest } = run;
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    kind: manifest.kind,
    status: manifest.status,
    samples: scores.length,
    ...(scores.length ? { meanScore: scores.reduce((a, b) => a + b, 0) / scores.length } : {}),
  };
}

function pairKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
