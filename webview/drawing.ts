/**
 * The SVG drawing of a laid-out graph. Built once per state; hovering a trajectory only toggles classes on the
 * nodes and edges it names (no re-render), which keeps 50 agents and 1000 edges responsive.
 */
import type { GraphViewModel, ViewEdge, ViewNode } from '../src/protocol/webview';
import { edgePathData, fitSize, truncateLabel } from './svg';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class GraphDrawing {
  readonly svg: SVGSVGElement;
  private readonly nodeEls = new Map<string, SVGGElement>();
  private readonly edgeEls = new Map<string, SVGPathElement>();
  private highlighted: Element[] = [];

  constructor(private readonly model: GraphViewModel) {
    // The viewBox is the layout's coordinates; fit() sets the drawn size from the panel's (the browser scales).
    this.svg = svgEl('svg', {
      class: 'graph',
      width: model.width,
      height: model.height,
      viewBox: `0 0 ${model.width} ${model.height}`,
      preserveAspectRatio: 'xMidYMin meet',
      role: 'img',
    });
    this.svg.setAttribute('aria-label', `${model.mode === 'topk' ? 'Top-k attribution graph' : 'Agent graph'} of ${model.system.name}`);
    const defs = svgEl('defs', {});
    // Fixed size in user units: the default (stroke-width units) would blow arrows up on the widest edges.
    const marker = svgEl('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
    marker.append(svgEl('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrow-head' }));
    defs.append(marker);
    const edges = svgEl('g', { class: 'edges' });
    for (const edge of model.edges) edges.append(this.edgeElement(edge));
    const nodes = svgEl('g', { class: 'nodes' });
    for (const node of model.nodes) nodes.append(this.nodeElement(node));
    this.svg.append(defs, edges, nodes);
  }

  /** Scales the drawing to a panel of this size (see fitSize); returns the scale used. */
  fit(panel: { width: number; height: number }): number {
    const size = fitSize(this.model, panel);
    this.svg.setAttribute('width', String(size.width));
    this.svg.setAttribute('height', String(size.height));
    this.svg.setAttribute('data-scale', String(size.scale));
    return size.scale;
  }

  /** Dims everything but these nodes and edges; empty lists clear the highlight. */
  highlight(nodeIds: readonly string[], edgeIds: readonly string[]): void {
    for (const el of this.highlighted) el.classList.remove('hl');
    this.highlighted = [
      ...nodeIds.map((id) => this.nodeEls.get(id)),
      ...edgeIds.map((id) => this.edgeEls.get(id)),
    ].filter((el): el is SVGGElement | SVGPathElement => el !== undefined);
    for (const el of this.highlighted) el.classList.add('hl');
    this.svg.classList.toggle('highlighting', this.highlighted.length > 0);
  }

  nodeOf(target: EventTarget | null): ViewNode | undefined {
    const id = (target as Element | null)?.closest?.('[data-node]')?.getAttribute('data-node');
    return id ? this.model.nodes.find((n) => n.id === id) : undefined;
  }

  edgeOf(target: EventTarget | null): ViewEdge | undefined {
    const id = (target as Element | null)?.closest?.('[data-edge]')?.getAttribute('data-edge');
    return id ? this.model.edges.find((e) => e.id === id) : undefined;
  }

  private nodeElement(node: ViewNode): SVGGElement {
    const g = svgEl('g', { class: `node kind-${node.kind}${node.agent ? ' clickable' : ''}`, transform: `translate(${node.x},${node.y})`, 'data-node': node.id });
    const box = { width: node.width, height: node.height, rx: 6, ry: 6 };
    g.append(svgEl('rect', { ...box, class: 'node-bg' }));
    // Blame as a translucent overlay: fill-opacity is an attribute, so no inline style (which the CSP forbids).
    if (node.blame > 0) g.append(svgEl('rect', { ...box, class: 'node-blame', 'fill-opacity': Math.min(1, 0.15 + 0.85 * node.blame) }));
    // Over a strong blame fill the theme's text colour can vanish (dark on dark red): switch to the contrasting one.
    const strongFill = node.blame >= 0.5 ? ' on-blame' : '';
    const text = svgEl('text', { x: 12, y: node.height / 2, class: `node-label${strongFill}`, 'dominant-baseline': 'central' });
    text.textContent = truncateLabel(node.label);
    const title = svgEl('title', {});
    const blame = node.agent !== undefined ? this.model.blame.find((b) => b.agent === node.agent) : undefined;
    const blameLine = blame?.text ? `\nblame: ${blame.text}` : '';
    title.textContent = node.agent !== undefined ? `${node.label}${blameLine}${node.kind === 'agent' ? '\nclick: open the prompt' : ''}` : node.label;
    g.append(text, title);
    this.nodeEls.set(node.id, g);
    return g;
  }

  private edgeElement(edge: ViewEdge): SVGPathElement {
    const cls = `edge kind-${edge.kind}${edge.kept ? '' : ' dropped'}${edge.weight !== undefined && edge.weight < 0 ? ' negative' : ''}`;
    const path = svgEl('path', { d: edgePathData(edge.points), class: cls, 'stroke-width': edge.width, 'marker-end': 'url(#arrow)', 'data-edge': edge.id });
    const title = svgEl('title', {});
    // `title` is absent from a state saved by an older version (redrawn from getState() until the host answers).
    title.textContent = `${edge.title ?? `${edge.from} → ${edge.to}`}\nclick: open the input`;
    path.append(title);
    this.edgeEls.set(edge.id, path);
    return path;
  }
}

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
