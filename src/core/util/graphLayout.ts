/**
 * Deterministic layered layout of a graph with elkjs: the same graph always draws the same way, whatever order its
 * nodes and edges arrive in. Nodes and edges are sorted before they reach ELK, every option is fixed (ELK's own
 * randomness is seeded), and ELK is told to respect that order where it has a choice.
 */
import type { ElkExtendedEdge, ElkNode, LayoutOptions } from 'elkjs/lib/elk-api';
import { loadElk } from './elk';
import type { ViewPoint } from '../../protocol/webview';

export interface LayoutNodeInput {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdgeInput {
  id: string;
  from: string;
  to: string;
}

export interface GraphLayout {
  /** Top-left corner of each node. */
  nodes: Map<string, ViewPoint>;
  /** Route of each edge: start, bend points, end. */
  edges: Map<string, ViewPoint[]>;
  width: number;
  height: number;
}

/** Fixed for reproducibility; flow left to right like the paper's figures (inputs left, loss right). */
export const LAYOUT_OPTIONS: Readonly<LayoutOptions> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.randomSeed': '1',
  // Polylines stay readable with hundreds of edges, where orthogonal routing turns into a grid of parallel lines.
  'elk.edgeRouting': 'POLYLINE',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.spacing.nodeNodeBetweenLayers': '64',
  'elk.spacing.nodeNode': '20',
  'elk.spacing.edgeNode': '12',
  'elk.padding': '[top=16,left=16,bottom=16,right=16]',
};

/** Code-unit order: unlike localeCompare, the same on every machine and locale. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}


/**
 * A layered layout turns every edge that spans several layers into a chain of dummy nodes; a dense graph (50 agents,
 * 1000 edges) makes tens of thousands and ELK takes minutes (a few hundred already take most of a second). Past this
 * many, ELK places the nodes using only the edges between adjacent layers (which keeps every node's layer), and the
 * other edges get a straight route between the node sides.
 */
export const MAX_LAYOUT_DUMMIES = 400;

export async function layoutGraph(nodes: readonly LayoutNodeInput[], edges: readonly LayoutEdgeInput[]): Promise<GraphLayout> {
  const sortedNodes = [...nodes].sort((a, b) => byCodeUnits(a.id, b.id));
  const known = new Set(sortedNodes.map((n) => n.id));
  const sortedEdges = edges
    .filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to)
    .sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to) || byCodeUnits(a.id, b.id));
  // Parallel edges share one route: ELK sees each (from, to) pair once, under its first edge's id.
  const pairs = new Map<string, LayoutEdgeInput>();
  for (const e of sortedEdges) if (!pairs.has(pairKey(e))) pairs.set(pairKey(e), e);

  const layer = longestPathLayers(sortedNodes.map((n) => n.id), [...pairs.values()]);
  const span = (e: LayoutEdgeInput) => (layer.get(e.to) ?? 0) - (layer.get(e.from) ?? 0);
  const dummies = [...pairs.values()].reduce((sum, e) => sum + Math.max(0, span(e) - 1), 0);
  const routed = dummies <= MAX_LAYOUT_DUMMIES ? [...pairs.values()] : [...pairs.values()].filter((e) => span(e) === 1);

  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      ...LAYOUT_OPTIONS,
      // Longest-path layering keeps each node's layer when ELK only sees the adjacent-layer edges.
      ...(routed.length < pairs.size ? { 'elk.layered.layering.strategy': 'LONGEST_PATH' } : {}),
    },
    children: sortedNodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: routed.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const laid = await (await loadElk()).layout(root);

  const out: GraphLayout = { nodes: new Map(), edges: new Map(), width: round(laid.width ?? 0), height: round(laid.height ?? 0) };
  for (const child of laid.children ?? []) out.nodes.set(child.id, { x: round(child.x ?? 0), y: round(child.y ?? 0) });
  const routes = new Map<string, ViewPoint[]>();
  for (const edge of laid.edges ?? []) {
    const section = edge.sections?.[0];
    if (section) routes.set(edge.id, [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => ({ x: round(p.x), y: round(p.y) })));
  }
  const size = new Map(sortedNodes.map((n) => [n.id, n]));
  for (const e of sortedEdges) {
    const first = pairs.get(pairKey(e))!;
    const route = routes.get(first.id) ?? straightRoute(out.nodes.get(e.from)!, size.get(e.from)!, out.nodes.get(e.to)!, size.get(e.to)!);
    out.edges.set(e.id, route);
    // Dipping edges can reach below the nodes: the drawing must be tall enough to show them.
    for (const p of route) out.height = Math.max(out.height, round(p.y + 16));
  }
  return out;
}

function pairKey(e: LayoutEdgeInput): string {
  return `${e.from}\u0000${e.to}`;
}

/** Layer of each node: 0 for sources, else 1 + the largest layer of its predecessors. Nodes on a cycle get 0. */
export function longestPathLayers(nodeIds: readonly string[], edges: readonly LayoutEdgeInput[]): Map<string, number> {
  const layer = new Map(nodeIds.map((id) => [id, 0]));
  const indegree = new Map(nodeIds.map((id) => [id, 0]));
  const successors = new Map<string, string[]>();
  for (const e of edges) {
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
    successors.set(e.from, [...(successors.get(e.from) ?? []), e.to]);
  }
  const ready = nodeIds.filter((id) => indegree.get(id) === 0);
  while (ready.length) {
    const id = ready.pop()!;
    for (const next of successors.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next)!, layer.get(id)! + 1));
      indegree.set(next, indegree.get(next)! - 1);
      if (indegree.get(next) === 0) ready.push(next);
    }
  }
  return layer;
}

/**
 * From the right side of one node to the left side of the other (the layout flows left to right). A long, nearly
 * level edge would run straight through the nodes between its ends, so it dips below them instead.
 */
function straightRoute(from: ViewPoint, fromSize: LayoutNodeInput, to: ViewPoint, toSize: LayoutNodeInput): ViewPoint[] {
  const start = { x: round(from.x + fromSize.width), y: round(from.y + fromSize.height / 2) };
  const end = { x: round(to.x), y: round(to.y + toSize.height / 2) };
  const dx = end.x - start.x;
  const dip = Math.min(0.2 * dx, MAX_DIP);
  if (Math.abs(end.y - start.y) >= dip) return [start, end];
  const low = Math.max(start.y, end.y) + dip;
  return [start, { x: round(start.x + dx / 4), y: round(low) }, { x: round(end.x - dx / 4), y: round(low) }, end];
}

/** Deepest dip of a long edge below its ends, in pixels. */
const MAX_DIP = 240;

/** Whole tenths of a pixel: enough for drawing, and keeps the state message small. */
function round(v: number): number {
  return Math.round(v * 10) / 10;
}
