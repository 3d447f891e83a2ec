/**
 * Reverse-mode differentiation on the graph IR: emits gradient nodes into the same Graph.
 *
 * Only nodes on a path from a chosen input to the output get gradients; everything else (weights included) is a
 * constant. Each op's rule lives in GRADIENT_RULES; an op on the path without a rule is an error naming it.
 */
import { broadcastShapes, isFloat, type Graph, type Node, type Value } from './ir';

interface RuleContext {
  g: Graph;
  node: Node;
  /** Input values (undefined for an omitted optional input). */
  x: Array<Value | undefined>;
  /** Output values. */
  y: Value[];
  /** Gradient of the output w.r.t. each node output (undefined where none flows back). */
  dy: Array<Value | undefined>;
  /** Which inputs need a gradient. */
  need: boolean[];
}

type Rule = (c: RuleContext) => Array<Value | undefined>;

/** Sums `grad` over the axes along which `target` was broadcast, and restores `target`'s shape. */
export function unbroadcast(g: Graph, grad: Value, target: Value): Value {
  const rank = grad.shape.length;
  const offset = rank - target.shape.length;
  const axes: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (i < offset) axes.push(i);
    else if (target.shape[i - offset] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  if (!axes.length) return grad;
  const summed = g.reduceSum(grad, axes, true);
  return offset > 0 ? g.reshapeTo(summed, g.shapeOf(target), target.shape) : summed;
}

/** Reads a small int64 constant (axes, starts, ...) back from the graph's initializers. */
function constantInts(g: Graph, name: string): number[] {
  const init = g.initializers.find((i) => i.value.name === name);
  if (!init || !(init.data instanceof Uint8Array) || init.value.dtype !== 'int64') throw new Error(`autodiff: ${name} must be an int64 constant`);
  const view = new DataView(init.data.buffer, init.data.byteOffset, init.data.byteLength);
  return Array.from({ length: init.data.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

const attrInt = (n: Node, key: string, fallback: number) => {
  const a = n.attrs[key];
  return a && 'int' in a ? a.int : fallback;
};
const attrFloat = (n: Node, key: string, fallback: number) => {
  const a = n.attrs[key];
  return a && 'float' in a ? a.float : fallback;
};
const attrInts = (n: Node, key: string) => {
  const a = n.attrs[key];
  return a && 'ints' in a ? a.ints : undefined;
};

const normAxes = (axes: number[], rank: number) => axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);

/** Swaps the last two axes. */
function transposeLast2(g: Graph, v: Value): Value {
  const perm = v.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return g.transpose(v, perm);
}

/** Gradient of a reduction: brings dy back to x's rank (keepdims) and broadcasts it to x's shape. */
function spreadReduced(g: Graph, n: Node, x: Value, dy: Value, axes: number[] | undefined): Value {
  const keep = attrInt(n, 'keepdims', 1) === 1;
  const all = !axes || axes.length === 0;
  const norm = all ? x.shape.map((_, i) => i) : normAxes(axes, x.shape.length);
  const dk = keep || norm.length === 0 ? dy : g.unsqueeze(dy, norm);
  return g.expand(dk, g.shapeOf(x), x.shape);
}

function reduceAxes(g: Graph, n: Node): number[] | undefined {
  if (n.op === 'ReduceSum') return n.inputs[1] ? constantInts(g, n.inputs[1]) : undefined;
  return attrInts(n, 'axes');
}

export const GRADIENT_RULES: Record<string, Rule> = {
  Identity: ({ dy }) => [dy[0]],
  Add: ({ g, x, dy, need }) => [need[0] ? unbroadcast(g, dy[0]!, x[0]!) : undefined, need[1] ? unbroadcast(g, dy[0]!, x[1]!) : undefined],
  Sub: ({ g, x, dy, need }) => [need[0] ? unbroadcast(g, dy[0]!, x[0]!) : undefined, need[1] ? unbroadcast(g, g.neg(dy[0]!), x[1]!) : undefined],
  Mul: ({ g, x, dy, need }) => [
    need[0] ? unbroadcast(g, g.mul(dy[0]!, x[1]!), x[0]!) : undefined,
    need[1] ? unbroadcast(g, g.mul(dy[0]!, x[0]!), x[1]!) : undefined,
  ],
  Div: ({ g, x, y, dy, need }) => [
    need[0] ? unbroadcast(g, g.div(dy[0]!, x[1]!), x[0]!) : undefined,
    need[1] ? unbroadcast(g, g.neg(g.div(g.mul(dy[0]!, y[0]), x[1]!)), x[1]!) : undefined,
  ],
  Pow: ({ g, x, y, dy, need }) => {
    const [a, b] = [x[0]!, x[1]!];
    const one = g.scalar(1, b.dtype);
    return [
      need[0] ? unbroadcast(g, g.mul(dy[0]!, g.mul(g.cast(b, a.dtype), g.pow(a, g.sub(b, one)))), a) : undefined,
      // d(a^b)/db = a^b ln a (defined for a > 0)
      need[1] ? unbroadcast(g, g.mul(dy[0]!, g.mul(y[0], g.log(a))), b) : undefined,
    ];
  },
  Neg: ({ g, dy }) => [g.neg(dy[0]!)],
  Abs: ({ g, x, dy }) => [g.mul(dy[0]!, g.sign(x[0]!))],
  Sqrt: ({ g, y, dy }) => [g.div(g.mul(dy[0]!, g.scalar(0.5, y[0].dtype)), y[0])],
  Reciprocal: ({ g, y, dy }) => [g.neg(g.mul(dy[0]!, g.mul(y[0], y[0])))],
  Exp: ({ g, y, dy }) => [g.mul(dy[0]!, y[0])],
  Log: ({ g, x, dy }) => [g.div(dy[0]!, x[0]!)],
  Sigmoid: ({ g, y, dy }) => [g.mul(dy[0]!, g.mul(y[0], g.sub(g.scalar(1, y[0].dtype), y[0])))],
  Cast: ({ g, x, dy }) => [g.cast(dy[0]!, x[0]!.dtype)],
  Where: ({ g, x, dy, need }) => {
    const zero = g.scalar(0, dy[0]!.dtype);
    return [
      undefined,
      need[1] ? unbroadcast(g, g.where(x[0]!, dy[0]!, zero), x[1]!) : undefined,
      need[2] ? unbroadcast(g, g.where(x[0]!, zero, dy[0]!), x[2]!) : undefined,
    ];
  },
  MatMul: ({ g, x, dy, need }) => {
    const [a, b] = [x[0]!, x[1]!];
    if (a.shape.length < 2 || b.shape.length < 2) throw new Error('autodiff: MatMul of rank-1 operands is not supported');
    return [
      need[0] ? unbroadcast(g, g.matmul(dy[0]!, transposeLast2(g, b)), a) : undefined,
      need[1] ? unbroadcast(g, g.matmul(transposeLast2(g, a), dy[0]!), b) : undefined,
    ];
  },
  Gemm: ({ g, node, x, dy, need }) => {
    const [a, b, c] = x;
    const d = dy[0]!;
    const tA = attrInt(node, 'transA', 0) === 1;
    const tB = attrInt(node, 'transB', 0) === 1;
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    // With A' = op(A), B' = op(B): dA' = alpha dY B'^T, dB' = alpha A'^T dY; transposes fold into Gemm's flags.
    const dA = !need[0] ? undefined : !tA ? g.gemm(d, b!, undefined, { transB: !tB, alpha }) : g.gemm(b!, d, undefined, { transA: tB, transB: true, alpha });
    const dB = !need[1] ? undefined : !tB ? g.gemm(a!, d, undefined, { transA: !tA, alpha }) : g.gemm(d, a!, undefined, { transA: true, transB: tA, alpha });
    const dC = need[2] && c ? unbroadcast(g, beta === 1 ? d : g.mul(d, g.scalar(beta, d.dtype)), c) : undefined;
    return [dA, dB, dC];
  },
  ReduceSum: ({ g, node, x, dy }) => [spreadReduced(g, node, x[0]!, dy[0]!, reduceAxes(g, node))],
  ReduceMean: ({ g, node, x, dy }) => {
    const v = x[0]!;
    const axes = reduceAxes(g, node);
    const spread = spreadReduced(g, node, v, dy[0]!, axes);
    // The mean's divisor: the number of reduced elements (a constant when those dims are static).
    const norm = !axes || !axes.length ? v.shape.map((_, i) => i) : normAxes(axes, v.shape.length);
    const dims = norm.map((a) => v.shape[a]);
    const count = dims.every((d) => typeof d === 'number')
      ? g.scalar((dims as number[]).reduce((p, d) => p * d, 1), v.dtype)
      : g.cast(g.node('ReduceProd', [g.gather(g.shapeOf(v), g.int64s(norm), 0)], { keepdims: { int: 0 } }, [{ dtype: 'int64', shape: [] }])[0], v.dtype);
    return [g.div(spread, count)];
  },
  ReduceMax: ({ g, node, x, y, dy }) => {
    // The gradient goes to the maximal elements, shared equally between ties.
    const axes = reduceAxes(g, node);
    const keep = attrInt(node, 'keepdims', 1) === 1;
    const norm = !axes || !axes.length ? x[0]!.shape.map((_, i) => i) : normAxes(axes, x[0]!.shape.length);
    const yk = keep ? y[0] : g.unsqueeze(y[0], norm);
    const dk = keep ? dy[0]! : g.unsqueeze(dy[0]!, norm);
    const mask = g.cast(g.equal(x[0]!, yk), x[0]!.dtype);
    const count = g.reduceSum(mask, norm, true);
    return [g.div(g.mul(mask, dk), count)];
  },
  Softmax: ({ g, node, y, dy }) => {
    const axis = attrInt(node, 'axis', -1);
    return [g.mul(y[0], g.sub(dy[0]!, g.reduceSum(g.mul(dy[0]!, y[0]), [axis], true)))];
  },
  LogSoftmax: ({ g, node, y, dy }) => {
    const axis = attrInt(node, 'axis', -1);
    return [g.sub(dy[0]!, g.mul(g.exp(y[0]), g.reduceSum(dy[0]!, [axis], true)))];
  },
  Reshape: ({ g, x, dy }) => [g.reshapeTo(dy[0]!, g.shapeOf(x[0]!), x[0]!.shape)],
  Unsqueeze: ({ g, x, dy }) => [g.reshapeTo(dy[0]!, g.shapeOf(x[0]!), x[0]!.shape)],
  Squeeze: ({ g, x, dy }) => [g.reshapeTo(dy[0]!, g.shapeOf(x[0]!), x[0]!.shape)],
  Flatten: ({ g, x, dy }) => [g.reshapeTo(dy[0]!, g.shapeOf(x[0]!), x[0]!.shape)],
  Expand: ({ g, x, dy }) => [unbroadcast(g, dy[0]!, x[0]!)],
  Transpose: ({ g, node, x, dy }) => {
    const perm = attrInts(node, 'perm') ?? x[0]!.shape.map((_, i) => x[0]!.shape.length - 1 - i);
    const inverse: number[] = [];
    perm.forEach((p, i) => (inverse[p] = i));
    return [g.transpose(dy[0]!, inverse)];
  },
  Concat: ({ g, node, x, dy }) => {
    const inputs = x as Value[];
    const rank = inputs[0].shape.length;
    const axis = attrInt(node, 'axis', 0);
    const ax = axis < 0 ? axis + rank : axis;
    const dims = inputs.map((v) => v.shape[ax]);
    const sizes = dims.every((d) => typeof d === 'number')
      ? (dims as number[])
      : g.concat(inputs.map((v) => g.slice(g.shapeOf(v), [ax], [ax + 1], [0])), 0);
    return g.split(dy[0]!, sizes, ax, inputs.map((v) => [...v.shape]));
  },
  Split: ({ g, node, y, dy }) => [g.concat(y.map((out, k) => dy[k] ?? g.zerosLike(out)), attrInt(node, 'axis', 0))],
  Slice: ({ g, node, x, dy }) => {
    const v = x[0]!;
    const starts = constantInts(g, node.inputs[1]);
    const ends = constantInts(g, node.inputs[2]);
    const axes = node.inputs[3] ? constantInts(g, node.inputs[3]) : starts.map((_, i) => i);
    if (node.inputs[4] && constantInts(g, node.inputs[4]).some((s) => s !== 1)) throw new Error('autodiff: Slice with steps != 1');
    const rank = v.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, k) => {
      const ax = a < 0 ? a + rank : a;
      const d = v.shape[ax];
      if (typeof d !== 'number') throw new Error('autodiff: Slice gradient needs a static size on the sliced axis');
      const norm = (i: number) => Math.min(Math.max(i < 0 ? i + d : i, 0), d);
      pads[ax] = norm(starts[k]);
      pads[ax + rank] = d - Math.max(norm(ends[k]), norm(starts[k]));
    });
    return [g.pad(dy[0]!, pads)];
  },
  Gather: ({ g, node, x, dy }) => {
    if (attrInt(node, 'axis', 0) !== 0) throw new Error('autodiff: Gather gradient supports axis 0 only');
    const [data, indices] = [x[0]!, x[1]!];
    return [g.scatterND(g.zerosLike(data), g.unsqueeze(indices, [-1]), dy[0]!, 'add')];
  },
  GatherElements: ({ g, node, x, dy }) => [g.scatterElements(g.zerosLike(x[0]!), x[1]!, dy[0]!, attrInt(node, 'axis', 0), 'add')],
  GatherND: ({ g, node, x, dy }) => {
    if (attrInt(node, 'batch_dims', 0) !== 0) throw new Error('autodiff: GatherND with batch_dims is not supported');
    return [g.scatterND(g.zerosLike(x[0]!), x[1]!, dy[0]!, 'add')];
  },
};

/**
 * Appends the gradient of the output w.r.t. each of `wrt` to the graph and returns them (same order).
 * A chosen input with no path to the output gets zeros.
 */
export function differentiate(g: Graph, output: Value, wrt: Value[]): Value[] {
  const nodeCount = g.nodes.length;
  // Forward: float values that depend on a chosen input.
  const reachable = new Set(wrt.map((v) => v.name));
  const active: boolean[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const n = g.nodes[i];
    active[i] = n.inputs.some((name) => reachable.has(name));
    if (active[i]) for (const o of n.outputs) if (isFloat(g.value(o).dtype)) reachable.add(o);
  }
  // Backward: values the output depends on.
  const needed = new Set([output.name]);
  const relevant: boolean[] = [];
  for (let i = nodeCount - 1; i >= 0; i--) {
    const n = g.nodes[i];
    relevant[i] = active[i] && n.outputs.some((o) => needed.has(o) && reachable.has(o));
    if (relevant[i]) for (const name of n.inputs) if (reachable.has(name)) needed.add(name);
  }

  const grads = new Map<string, Value>();
  const accumulate = (name: string, grad: Value) => {
    const prev = grads.get(name);
    grads.set(name, prev ? g.add(prev, grad) : grad);
  };
  const seed = output.shape.length === 0 ? g.scalar(1, output.dtype) : g.expand(g.scalar(1, output.dtype), g.shapeOf(output), output.shape);
  grads.set(output.name, seed);

  for (let i = nodeCount - 1; i >= 0; i--) {
    if (!relevant[i]) continue;
    const node = g.nodes[i];
    const rule = GRADIENT_RULES[node.op];
    if (!rule) throw new Error(`autodiff: no gradient rule for ${node.op} (node producing ${node.outputs.join(', ')})`);
    const dy = node.outputs.map((o) => grads.get(o));
    if (dy.every((d) => !d)) continue;
    const x = node.inputs.map((name) => (name ? g.value(name) : undefined));
    const need = node.inputs.map((name) => !!name && reachable.has(name) && needed.has(name));
    const dx = rule({ g, node, x, y: node.outputs.map((o) => g.value(o)), dy, need });
    dx.forEach((d, k) => {
      if (d && need[k]) {
        const target = x[k]!;
        // Rules keep shapes; a mismatch here is a bug in a rule, caught early rather than by ORT at run time.
        if (d.shape.length !== target.shape.length) throw new Error(`autodiff: ${node.op} gradient has rank ${d.shape.length}, input ${target.name} rank ${target.shape.length}`);
        broadcastShapes(d.shape, target.shape);
        accumulate(target.name, d);
      }
    });
  }
  return wrt.map((v) => grads.get(v.name) ?? g.zerosLike(v));
}
