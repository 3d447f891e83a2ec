/**
 * The messages between the graph panel's host (src/extension/graph/) and its webview (webview/), in the style of
 * GitLens's webviews/protocol.ts: every message is `{ method, params }`, and each direction is a discriminated union
 * on `method`, so a `switch (msg.method)` narrows `params`. Messages cross a postMessage boundary, so both sides check
 * them with the guards below before trusting them.
 *
 * Also the view model: the whole picture the webview draws (host -> webview `state`), already laid out by the host.
 */

export interface IpcMessage<Method extends string, Params> {
  method: Method;
  params: Params;
}

export type GraphMode = 'full' | 'topk';
export const GRAPH_MODES: readonly GraphMode[] = ['full', 'topk'];

// ---------------------------------------------------------------------------------------------------------------
// The view model
// ---------------------------------------------------------------------------------------------------------------

export interface ViewPoint {
  x: number;
  y: number;
}

export type ViewNodeKind = 'input' | 'agent' | 'tool_call' | 'tool_result' | 'loss';

export interface ViewNode {
  id: string;
  kind: ViewNodeKind;
  label: string;
  /** The agent this node is (or belongs to: tool calls and results). */
  agent?: string;
  /** The agent call it stands for (top-k mode). */
  callId?: string;
  /** Share of the shown trajectories through this node's agent, in [0, 1]: the node's fill. */
  blame: number;
  /** Top-left corner and size, from the layout. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ViewEdge {
  /** Stable for the same graph: `e<index>` after sorting by (from, to, kind). */
  id: string;
  from: string;
  to: string;
  kind: 'connection' | 'structural';
  /** The connection weight (signed for the grad·input strategies); absent when unweighted. */
  weight?: number;
  /** Stroke width in pixels, from |weight| relative to the largest |weight| into the same node. */
  width: number;
  /** |weight| / Σ |weight| of the weighted connections into the same node, in [0, 1]; absent when unweighted. */
  share?: number;
  /** The hover text, e.g. "checker → answerer: 73% of answerer's input weight (w 0.81)". */
  title: string;
  /** In the top-k attribution graph. */
  kept: boolean;
  /** The call whose input this edge feeds (top-k mode): what clicking the edge opens. */
  callId?: string;
  /** Route from the layout: start, bend points, end. */
  points: ViewPoint[];
}

export interface ViewTrajectory {
  index: number;
  sampleId: string;
  /** Agents on the path, in order. */
  agents: string[];
  /** Node and edge ids of this view that the path runs through (highlighted on hover). */
  nodes: string[];
  edges: string[];
}

export interface ViewBlame {
  agent: string;
  /** Failing trajectories (input → … → loss) through the agent. */
  trajectories: number;
  /** trajectories / total. Not a split of the blame: every agent on a path gets it, so shares need not sum to 1. */
  share: number;
  /** Failing trajectories shown in all (the denominator). */
  total: number;
  /** What the share is of, e.g. "on 2 of 2 failing trajectories". */
  text: string;
}

/** A run as the graph panel's run picker shows it (not the report's RunSummary of src/core/report). */
export interface RunChoice {
  id: string;
  createdAt: string;
  kind: 'run' | 'optimize';
  status: string;
  samples: number;
  /** Mean score over the run's samples; absent when it has none. */
  meanScore?: number;
}

export interface SampleSummary {
  id: string;
  split: string;
  score: number;
  /** True when the verbal loss is non-empty (the sample failed at least partly). */
  failed: boolean;
}

export type ComparisonChange = 'improved' | 'regressed' | 'unchanged' | 'only-a' | 'only-b';

export interface ComparisonRow {
  sampleId: string;
  scoreA?: number;
  scoreB?: number;
  /** scoreB - scoreA when both exist. */
  delta?: number;
  change: ComparisonChange;
}

export interface RunComparison {
  a: string;
  b: string;
  rows: ComparisonRow[];
  improved: number;
  regressed: number;
  unchanged: number;
  meanA?: number;
  meanB?: number;
}

export interface GraphViewModel {
  system: { name: string; file: string };
  mode: GraphMode;
  runs: RunChoice[];
  runId?: string;
  samples: SampleSummary[];
  sampleId?: string;
  nodes: ViewNode[];
  edges: ViewEdge[];
  /** Size of the laid-out drawing. */
  width: number;
  height: number;
  trajectories: ViewTrajectory[];
  /** Trajectories that exist beyond the ones listed (a list cap keeps the view responsive). */
  trajectoriesOmitted: number;
  blame: ViewBlame[];
  comparison?: RunComparison;
  /** A sentence to show above the graph (no runs yet, no graph for this sample, ...). */
  notice?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Host -> webview
// ---------------------------------------------------------------------------------------------------------------

export type StateMessage = IpcMessage<'state', GraphViewModel>;
/** Highlight these nodes and edges (empty lists clear the highlight). */
export type HighlightMessage = IpcMessage<'highlight', { nodes: string[]; edges: string[] }>;
export type HostMessage = StateMessage | HighlightMessage;

// ---------------------------------------------------------------------------------------------------------------
// Webview -> host
// ---------------------------------------------------------------------------------------------------------------

/** The webview has loaded (or was shown again) and wants the current state. */
export type ReadyMessage = IpcMessage<'ready', Record<string, never>>;
export type OpenAgentPromptMessage = IpcMessage<'openAgentPrompt', { agent: string }>;
/** An edge was clicked: the call it feeds when known (top-k mode), else the two ends (full mode). */
export type OpenEdgeInputMessage = IpcMessage<'openEdgeInput', { callId: string } | { from: string; to: string }>;
export type SelectRunMessage = IpcMessage<'selectRun', { runId: string }>;
export type SelectSampleMessage = IpcMessage<'selectSample', { sampleId: string }>;
export type ToggleModeMessage = IpcMessage<'toggleMode', { mode: GraphMode }>;
export type CompareRunsMessage = IpcMessage<'compareRuns', { a: string; b: string }>;
export type WebviewMessage =
  | ReadyMessage
  | OpenAgentPromptMessage
  | OpenEdgeInputMessage
  | SelectRunMessage
  | SelectSampleMessage
  | ToggleModeMessage
  | CompareRunsMessage;

// ---------------------------------------------------------------------------------------------------------------
// Guards: shape checks of what arrives over postMessage
// ---------------------------------------------------------------------------------------------------------------

type Params = Record<string, unknown>;

function isRecord(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** Checks of each webview -> host message's params. */
const WEBVIEW_PARAMS: Record<WebviewMessage['method'], (p: Params) => boolean> = {
  ready: () => true,
  openAgentPrompt: (p) => isNonEmptyString(p.agent),
  openEdgeInput: (p) => isNonEmptyString(p.callId) || (isNonEmptyString(p.from) && isNonEmptyString(p.to)),
  selectRun: (p) => isNonEmptyString(p.runId),
  selectSample: (p) => isNonEmptyString(p.sampleId),
  toggleMode: (p) => GRAPH_MODES.includes(p.mode as GraphMode),
  compareRuns: (p) => isNonEmptyString(p.a) && isNonEmptyString(p.b),
};

export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (!isRecord(value) || !isString(value.method) || !isRecord(value.params)) return false;
  const check = Object.hasOwn(WEBVIEW_PARAMS, value.method) ? WEBVIEW_PARAMS[value.method as WebviewMessage['method']] : undefined;
  return check !== undefined && check(value.params);
}

export function isHostMessage(value: unknown): value is HostMessage {
  if (!isRecord(value) || !isRecord(value.params)) return false;
  const p = value.params;
  switch (value.method) {
    case 'state':
      return isGraphViewModel(p);
    case 'highlight':
      return isStringArray(p.nodes) && isStringArray(p.edges);
    default:
      return false;
  }
}

/** Enough of a view model to draw: also used on state restored from the webview's getState(). */
export function isGraphViewModel(value: unknown): value is GraphViewModel {
  return (
    isRecord(value) &&
    isRecord(value.system) &&
    GRAPH_MODES.includes(value.mode as GraphMode) &&
    Array.isArray(value.runs) &&
    Array.isArray(value.samples) &&
    Array.isArray(value.nodes) &&
    Array.isArray(value.edges) &&
    Array.isArray(value.trajectories) &&
    Array.isArray(value.blame) &&
    typeof value.width === 'number' &&
    typeof value.height === 'number'
  );
}

/** Builds a message with its method and params checked against each other by the compiler. */
export function message<M extends WebviewMessage | HostMessage>(method: M['method'], params: M['params']): M {
  return { method, params } as M;
}
