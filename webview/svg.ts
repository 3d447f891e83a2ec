/** Pure helpers of the graph drawing (no DOM), shared by the renderer and the unit tests. */
import type { ViewPoint } from '../src/protocol/webview';

/** Longer labels are cut (the tooltip has the whole text); matches the host's node sizing. */
export const MAX_LABEL_CHARS = 28;

/**
 * SVG path data for an edge route. ELK's routes (3+ points) are polylines; a 2-point route is a straight
 * side-to-side link (dense graphs) and is drawn as an S-curve so parallel links stay apart.
 */
export function edgePathData(points: readonly ViewPoint[]): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  if (points.length === 2) {
    const last = points[1]!;
    const dx = (last.x - first!.x) / 2;
    return `M${n(first!.x)} ${n(first!.y)} C${n(first!.x + dx)} ${n(first!.y)} ${n(last.x - dx)} ${n(last.y)} ${n(last.x)} ${n(last.y)}`;
  }
  return `M${n(first!.x)} ${n(first!.y)}` + rest.map((p) => ` L${n(p.x)} ${n(p.y)}`).join('');
}

export function truncateLabel(label: string, max = MAX_LABEL_CHARS): string {
  return label.length <= max ? label : label.slice(0, max - 1) + '…';
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** A weight for a tooltip: 3 significant digits, sign kept (grad·input weights can be negative). */
export function formatWeight(weight: number | undefined): string {
  return weight === undefined ? 'no weight' : Number(weight.toPrecision(3)).toString();
}

export function formatScore(score: number | undefined): string {
  return score === undefined ? '–' : score.toFixed(3);
}

function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** The drawing is scaled into the panel between these factors; past MIN_SCALE the canvas scrolls instead. */
export const MIN_SCALE = 0.4;
export const MAX_SCALE = 1.5;

/**
 * The size to draw a width x height graph at in a panel of the given size: scaled to fit (aspect kept), but no
 * smaller than MIN_SCALE (labels would be unreadable: scroll instead) and no larger than MAX_SCALE (a three-node graph
 * blown up to the panel looks broken). Pure arithmetic on the sizes, so the same panel gives the same drawing.
 */
export function fitSize(graph: { width: number; height: number }, panel: { width: number; height: number }): { width: number; height: number; scale: number } {
  const w = Math.max(graph.width, 1);
  const h = Math.max(graph.height, 1);
  const fit = panel.width > 0 && panel.height > 0 ? Math.min(panel.width / w, panel.height / h) : 1;
  const scale = Math.round(Math.min(MAX_SCALE, Math.max(MIN_SCALE, fit)) * 1000) / 1000;
  return { width: Math.round(w * scale), height: Math.round(h * scale), scale };
}
