/**
 * The agent graph: nodes are agent names, an edge `from -> to` means `to` reads `from`'s output (data flow).
 * Usually tens of agents, but the editor re-validates a file on every pause in typing, also one with thousands of
 * agents: every pass here is near-linear in nodes + edges.
 */

export interface Edge {
  from: string;
  to: string;
}

export interface ClosedCycle<E extends Edge> {
  /** The edge whose addition (in the order given) closed the cycle. */
  edge: E;
  /** The agents around the cycle in data-flow order, starting and ending at `edge.to`; its last step is `edge`. */
  cycle: string[];
}

/**
 * Finds cycles the way a reader of the file meets them: edges are added in the order given (file order), and each
 * edge that connects back to where it starts is reported, with the cycle it closes. Such an edge is then left out,
 * so every further report is about a different cycle. No cycles: an empty list.
 */
export function findClosingEdges<E extends Edge>(edges: readonly E[]): ClosedCycle<E>[] {
  // The usual case, a graph without cycles, in one linear pass; the search per edge below is only for reporting.
  const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))];
  if (topologicalOrder(nodes, edges)) return [];
  const successors = new Map<string, string[]>();
  const closed: ClosedCycle<E>[] = [];
  for (const edge of edges) {
    // Adding from -> to closes a cycle when `to` already reaches `from`.
    const path = shortestPath(successors, edge.to, edge.from);
    if (path) {
      closed.push({ edge, cycle: [...path, edge.to] });
      continue;
    }
    const list = successors.get(edge.from) ?? [];
    list.push(edge.to);
    successors.set(edge.from, list);
  }
  return closed;
}

/** Breadth-first path from `start` to `goal` (inclusive), following successors in insertion order. */
function shortestPath(successors: ReadonlyMap<string, string[]>, start: string, goal: string): string[] | undefined {
  const previous = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const node = queue.shift()!;
    if (node === goal) {
      const path = [node];
      for (let p = previous.get(node); p != null; p = previous.get(p)) path.unshift(p);
      return path;
    }
    for (const next of successors.get(node) ?? []) {
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/**
 * A topological order of `nodes` (every edge's `from` before its `to`). Among nodes that are ready at the same time,
 * the one earlier in `nodes` (file order) comes first, so the order is stable and predictable.
 * Returns undefined when the graph has a cycle. Edges naming unknown nodes are ignored.
 */
export function topologicalOrder(nodes: readonly string[], edges: readonly Edge[]): string[] | undefined {
  const known = new Set(nodes);
  const indegree = new Map(nodes.map((n) => [n, 0]));
  const successors = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const { from, to } of edges) {
    if (!known.has(from) || !known.has(to)) continue;
    successors.get(from)!.push(to);
    indegree.set(to, indegree.get(to)! + 1);
  }
  // Ready nodes wait in a min-heap of their index in `nodes`, so the earliest ready one in file order comes next.
  const indexOf = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!indexOf.has(n)) indexOf.set(n, i);
  });
  const ready = new MinHeap();
  for (const [n, i] of indexOf) if (indegree.get(n) === 0) ready.push(i);
  const order: string[] = [];
  while (ready.size > 0) {
    const next = nodes[ready.pop()];
    order.push(next);
    for (const to of successors.get(next)!) {
      const left = indegree.get(to)! - 1;
      indegree.set(to, left);
      if (left === 0) ready.push(indexOf.get(to)!);
    }
  }
  return order.length === indexOf.size ? order : undefined;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Nodes from which `target` can be reached along the edges, `target` included. */
export function nodesReaching(target: string, edges: readonly Edge[]): Set<string> {
  const predecessors = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const list = predecessors.get(to) ?? [];
    list.push(from);
    predecessors.set(to, list);
  }
  const seen = new Set([target]);
  const stack = [target];
  while (stack.length) {
    for (const p of predecessors.get(stack.pop()!) ?? []) {
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return seen;
}
