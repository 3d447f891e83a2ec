/**
 * The attribution graph of one sample (GBC, section 3): nodes are the task inputs, every agent call (one node per
 * call / tool-loop step / turn), tool calls and their results, and the loss. Connection edges go from each input block
 * of a call to that call, weighted by the call's connection weights; each call keeps only its top-k incoming
 * connection edges. Structural edges (a step -> its tool calls -> their results -> the next step of the same agent;
 * the output agent -> loss) are always kept: they are how the work flowed, not a judgement of importance.
 */
import type { AgentCall, AttributionGraph, BlockSource, CallAttribution, GraphEdge, GraphNode } from './types';

export const LOSS_NODE_ID = 'loss';

export interface GraphOptions {
  /** Incoming connection edges kept per call (system.attribution.topK). */
  topK: number;
  /** The agent whose output the loss judges (system.output). */
  outputAgent: string;
}

/**
 * The node a block comes from. Tool results are their own nodes; task fields and environment turns are inputs. In a
 * multi-turn task each turn's input arrives as task fields, so fields of turn n > 0 are nodes of their own.
 */
export function sourceNodeId(source: BlockSource, turn = 0): string {
  switch (source.kind) {
    case 'task':
      return turn > 0 ? `input:t${turn}.task.${source.field}` : `input:task.${source.field}`;
    case 'environment':
      return `input:environment.t${source.turn}`;
    case 'agent':
      return source.callId;
    case 'tool':
      return toolResultNodeId(source.callId, source.toolCallId);
  }
}

const toolCallNodeId = (callId: string, toolCallId: string) => `tool_call:${callId}:${toolCallId}`;
const toolResultNodeId = (callId: string, toolCallId: string) => `tool_result:${callId}:${toolCallId}`;

/**
 * Builds the graph of one sample from its calls (in the order they ran) and their attributions.
 * `weighting` is 'unweighted' when no call has weights, 'partial' when some lack them: such calls keep all their
 * incoming edges (nothing to rank them by).
 */
export function buildAttributionGraph(
  sampleId: string,
  calls: readonly AgentCall[],
  attributions: readonly CallAttribution[],
  options: GraphOptions,
): AttributionGraph {
  const topK = Math.max(1, Math.floor(options.topK));
  const attributionOf = new Map(attributions.map((a) => [a.callId, a]));
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const addNode = (node: GraphNode) => {
    if (!nodes.has(node.id)) nodes.set(node.id, node);
  };
  let weightedCalls = 0;
  let unweightedCalls = 0;

  for (const call of calls) {
    addNode({ id: call.id, kind: 'agent', label: callLabel(call), agent: call.agent, callId: call.id });
  }

  for (const call of calls) {
    const attribution = attributionOf.get(call.id);
    const weighted = attribution !== undefined && attribution.status !== 'unavailable';
    if (call.blocks.length > 0) {
      if (weighted) weightedCalls++;
      else unweightedCalls++;
    }

    const ranked: Array<{ edge: GraphEdge; order: number; blockId: string }> = [];
    call.blocks.forEach((block, order) => {
      const from = sourceNodeId(block.source, call.turn);
      addNode(sourceNode(from, block.source, block.label, calls, call.turn));
      const weight = weighted ? blockWeight(attribution, block.id, call.blocks.length) : undefined;
      const edge: GraphEdge = { from, to: call.id, kind: 'connection', ...(weight === undefined ? {} : { weight }), kept: !weighted };
      // A result of this agent's own earlier tool call leads to this step structurally: always followed.
      if (block.source.kind === 'tool' && isEarlierStepOf(block.source.callId, call, calls)) {
        edge.kind = 'structural';
        edge.kept = true;
      } else if (weighted) {
        ranked.push({ edge, order, blockId: block.id });
      }
      edges.push(edge);
    });
    // Top-k by weight; ties go to the earlier block, then the smaller block id, so reruns give the same graph.
    ranked.sort((a, b) => (b.edge.weight ?? 0) - (a.edge.weight ?? 0) || a.order - b.order || a.blockId.localeCompare(b.blockId));
    for (const r of ranked.slice(0, topK)) r.edge.kept = true;

    // The step -> its tool calls -> their results -> the agent's next step.
    for (const tool of call.toolCalls) {
      const callNode = toolCallNodeId(call.id, tool.id);
      const resultNode = toolResultNodeId(call.id, tool.id);
      addNode({ id: callNode, kind: 'tool_call', label: `${tool.name}(${truncate(tool.arguments, 40)})`, agent: call.agent, callId: call.id });
      addNode({ id: resultNode, kind: 'tool_result', label: `${tool.name} result`, agent: call.agent, callId: call.id });
      edges.push({ from: call.id, to: callNode, kind: 'structural', kept: true });
      edges.push({ from: callNode, to: resultNode, kind: 'structural', kept: true });
      const next = nextStepOf(call, calls);
      const alreadyLinked = next && edges.some((e) => e.from === resultNode && e.to === next.id);
      if (next && !alreadyLinked) edges.push({ from: resultNode, to: next.id, kind: 'structural', kept: true });
    }
  }

  // The loss judges the output agent's final step of every turn.
  const outputs = finalStepsOf(options.outputAgent, calls);
  if (outputs.length > 0) {
    addNode({ id: LOSS_NODE_ID, kind: 'loss', label: 'loss' });
    for (const out of outputs) edges.push({ from: out.id, to: LOSS_NODE_ID, kind: 'structural', kept: true });
  }

  const weighting = unweightedCalls === 0 ? 'weighted' : weightedCalls === 0 ? 'unweighted' : 'partial';
  return { sampleId, nodes: [...nodes.values()], edges, weighting };
}

/** The weight of a block: the strategy's value, 1 for a single block (as in the paper), 0 when missing. */
function blockWeight(attribution: CallAttribution, blockId: string, blockCount: number): number {
  if (attribution.status === 'single-block' && blockCount === 1) return attribution.weights[blockId] ?? 1;
  const w = attribution.weights[blockId];
  return typeof w === 'number' && Number.isFinite(w) ? w : 0;
}

function sourceNode(id: string, source: BlockSource, label: string, calls: readonly AgentCall[], turn: number): GraphNode {
  switch (source.kind) {
    case 'task':
      return { id, kind: 'input', label: turn > 0 ? `task.${source.field} (turn ${turn})` : `task.${source.field}` };
    case 'environment':
      return { id, kind: 'input', label: `environment (turn ${source.turn})` };
    case 'agent': {
      const call = calls.find((c) => c.id === source.callId);
      return { id, kind: 'agent', label: call ? callLabel(call) : source.agent, agent: source.agent, callId: source.callId };
    }
    case 'tool':
      return { id, kind: 'tool_result', label: label || `${source.tool} result`, callId: source.callId };
  }
}

function callLabel(call: AgentCall): string {
  const parts = [call.agent];
  if (call.turn > 0) parts.push(`turn ${call.turn}`);
  if (call.step > 0) parts.push(`step ${call.step}`);
  return parts.join(' · ');
}

function isEarlierStepOf(callId: string, call: AgentCall, calls: readonly AgentCall[]): boolean {
  const earlier = calls.find((c) => c.id === callId);
  return earlier !== undefined && earlier.agent === call.agent && earlier.turn === call.turn && earlier.step < call.step;
}

function nextStepOf(call: AgentCall, calls: readonly AgentCall[]): AgentCall | undefined {
  return calls.find((c) => c.agent === call.agent && c.turn === call.turn && c.step === call.step + 1);
}

function finalStepsOf(agent: string, calls: readonly AgentCall[]): AgentCall[] {
  const lastByTurn = new Map<number, AgentCall>();
  for (const c of calls) {
    if (c.agent !== agent) continue;
    const seen = lastByTurn.get(c.turn);
    if (!seen || c.step >= seen.step) lastByTurn.set(c.turn, c);
  }
  return [...lastByTurn.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}
