/**
 * Deterministic layered layout of a graph with elkjs: the same graph always draws the same way, whatever order its
 * nodes and edges arrive in. Nodes and edges are sorted before they reach ELK, every option is fixed (ELK's own
 * randomness is seeded), and ELK is told to respect that order where it has a choice.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode, LayoutOptions } from 'elkjs/lib/elk-api';
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

const elk = new ELK();

export async function layoutGraph(nodes: readonly LayoutNodeInput[], edges: readonly LayoutEdgeInput[]): Promise<GraphLayout> {
  const sortedNodes = [...nodes].sort((a, b) => byCodeUnits(a.id, b.id));
  const known = new Set(sortedNodes.map((n) => n.id));
  const sortedEdges = edges
    .filter((e) => known.has(e.from) && known.has(e.to))
    .sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to) || byCodeUnits(a.id, b.id));

  const root: ElkNode = {
    id: 'root',
    layoutOptions: { ...LAYOUT_OPTIONS },
    children: sortedNodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: sortedEdges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const laid = await elk.layout(root);

  const out: GraphLayout = { nodes: new Map(), edges: new Map(), width: round(laid.width ?? 0), height: round(laid.height ?? 0) };
  for (const child of laid.children ?? []) out.nodes.set(child.id, { x: round(child.x ?? 0), y: round(child.y ?? 0) });
  for (const edge of laid.edges ?? []) {
    const section = edge.sections?.[0];
    if (!section) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => ({ x: round(p.x), y: round(p.y) }));
    out.edges.set(edge.id, points);
  }
  return out;
}

/** Whole tenths of a pixel: enough for drawing, and keeps the state message small. */
function round(v: number): number {
  return Math.round(v * 10) / 10;
}
