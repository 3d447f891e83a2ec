/**
 * A small ONNX graph-builder IR.
 *
 * A Graph holds values (name, element type, shape), nodes and initializers. Each op helper below appends one node and
 * infers its output shape, so that later passes (./autodiff.ts) know every value's rank and which axes were
 * broadcast. Dimensions are numbers or symbolic names ('T', 'P'); the IR does no algebra on symbols.
 * ./serialize.ts turns a Graph into ONNX ModelProto bytes (opset 17).
 */

export type DType = 'float32' | 'float16' | 'float64' | 'bfloat16' | 'int64' | 'int32' | 'bool';
export type Dim = number | string;

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** Attribute values are tagged, because 1.0 and 1 are the same JavaScript number but not the same ONNX attribute. */
export type Attr = { int: number } | { float: number } | { ints: number[] } | { str: string };
export const int = (value: number): Attr => ({ int: value });
export const float = (value: number): Attr => ({ float: value });
export const ints = (value: number[]): Attr => ({ ints: value });
export const str = (value: string): Attr => ({ str: value });

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** Weights mapped straight out of a file beside the model (ONNX external data). */
export interface ExternalData {
  /** File name relative to the model folder. */
  location: string;
  offset: number;
  length: number;
}

export interface Initializer {
  value: Value;
  /** Little-endian raw bytes, or a pointer into an external file. */
  data: Uint8Array | ExternalData;
}

export const isFloat = (dtype: DType) => dtype === 'float32' || dtype === 'float16' || dtype === 'float64' || dtype === 'bfloat16';

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'bool':
      return 1;
  }
}

/** IEEE half from a double (round to nearest even); hand-written because Node 20 has no Float16Array. */
export function toHalfBits(x: number): number {
  const f32 = new Float32Array([x]);
  const u = new Uint32Array(f32.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  if (half >= 0x7c00) e = 0x1f;
  return sign | (e === 0x1f ? 0x7c00 : half);
}

/** Encodes numbers as little-endian raw tensor bytes of the given type. */
export function encodeRaw(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const buf = new ArrayBuffer(n * bytesPerElement(dtype));
  const view = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (dtype) {
      case 'float64':
        view.setFloat64(i * 8, v, true);
        break;
      case 'float32':
        view.setFloat32(i * 4, v, true);
        break;
      case 'float16':
        view.setUint16(i * 2, toHalfBits(v), true);
        break;
      case 'bfloat16':
        view.setUint16(i * 2, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true);
        break;
      case 'int32':
        view.setInt32(i * 4, v, true);
        break;
      case 'bool':
        view.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  return new Uint8Array(buf);
}

/** Right-aligned numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (typeof da === 'number' && typeof db === 'number') throw new Error(`cannot broadcast [${a}] with [${b}]`);
    else out.push(typeof da === 'number' ? da : db);
  }
  return out;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const sumDims = (dims: Dim[]): Dim =>
  dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((s, d) => s + d, 0) : dims.join('+');

export class Graph {
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private readonly values = new Map<string, Value>();
  /** name of a value -> index of the node that produces it */
  readonly producer = new Map<string, number>();
  private counter = 0;

  constructor(readonly name = 'agentchord') {}

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new Error(`unknown value ${name}`);
    return v;
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.values.has(name));
    return name;
  }

  private declare(name: string, dtype: DType, shape: readonly Dim[]): Value {
    if (this.values.has(name)) throw new Error(`duplicate value name ${name}`);
    const v: Value = { name, dtype, shape: [...shape] };
    this.values.set(name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: Dim[]): Value {
    const v = this.declare(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** Marks a value as a graph output under the given name (an Identity node renames it). */
  output(v: Value, name?: string): Value {
    const out = name && name !== v.name ? this.node('Identity', [v], {}, [{ dtype: v.dtype, shape: v.shape, name }])[0] : v;
    this.outputs.push(out);
    return out;
  }

  /** A constant tensor stored in the model itself. */
  constant(dtype: DType, shape: number[], values: ArrayLike<number>, hint = 'const'): Value {
    const v = this.declare(this.fresh(hint), dtype, shape);
    this.initializers.push({ value: v, data: encodeRaw(dtype, values) });
    return v;
  }

  scalar(value: number, dtype: DType): Value {
    return this.constant(dtype, [], [value], 'scalar');
  }

  int64s(values: number[]): Value {
    return this.constant('int64', [values.length], values, 'ints');
  }

  /** A weight read from a file beside the model (not copied into the model bytes). */
  external(name: string, dtype: DType, shape: number[], data: ExternalData): Value {
    const v = this.declare(name, dtype, shape);
    this.initializers.push({ value: v, data });
    return v;
  }

  /** Appends a node; outputs are declared with the given types and shapes. */
  node(op: string, inputs: Array<Value | undefined>, attrs: Record<string, Attr>, outs: Array<{ dtype: DType; shape: readonly Dim[]; name?: string }>): Value[] {
    const outputs = outs.map((o) => this.declare(o.name ?? this.fresh(op.toLowerCase()), o.dtype, o.shape));
    const index = this.nodes.length;
    this.nodes.push({ op, inputs: inputs.map((i) => i?.name ?? ''), outputs: outputs.map((o) => o.name), attrs });
    for (const o of outputs) this.producer.set(o.name, index);
    return outputs;
  }

  private unary(op: string, x: Value, attrs: Record<string, Attr> = {}): Value {
    return this.node(op, [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
  }

  private binary(op: string, a: Value, b: Value, dtype = a.dtype): Value {
    return this.node(op, [a, b], {}, [{ dtype, shape: broadcastShapes(a.shape, b.shape) }])[0];
  }

  // Elementwise
  add = (a: Value, b: Value) => this.binary('Add', a, b);
  sub = (a: Value, b: Value) => this.binary('Sub', a, b);
  mul = (a: Value, b: Value) => this.binary('Mul', a, b);
  div = (a: Value, b: Value) => this.binary('Div', a, b);
  pow = (a: Value, b: Value) => this.binary('Pow', a, b);
  equal = (a: Value, b: Value) => this.binary('Equal', a, b, 'bool');
  less = (a: Value, b: Value) => this.binary('Less', a, b, 'bool');
  neg = (x: Value) => this.unary('Neg', x);
  abs = (x: Value) => this.unary('Abs', x);
  sign = (x: Value) => this.unary('Sign', x);
  sqrt = (x: Value) => this.unary('Sqrt', x);
  reciprocal = (x: Value) => this.unary('Reciprocal', x);
  exp = (x: Value) => this.unary('Exp', x);
  log = (x: Value) => this.unary('Log', x);
  sigmoid = (x: Value) => this.unary('Sigmoid', x);
  identity = (x: Value) => this.unary('Identity', x);

  cast(x: Value, to: DType): Value {
    if (x.dtype === to) return x;
    return this.node('Cast', [x], { to: int(DATA_TYPE[to]) }, [{ dtype: to, shape: x.shape }])[0];
  }

  where(cond: Value, a: Value, b: Value): Value {
    return this.node('Where', [cond, a, b], {}, [{ dtype: a.dtype, shape: broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape)) }])[0];
  }

  // Linear algebra
  matmul(a: Value, b: Value): Value {
    if (a.shape.length < 2 || b.shape.length < 2) throw new Error('matmul: operands must have rank >= 2');
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.node('MatMul', [a, b], {}, [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]] }])[0];
  }

  /** Y = alpha * A' B' + beta * C for 2-D A and B (transB: B is [N, K], as linear-layer weights [out, in] are). */
  gemm(a: Value, b: Value, c?: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    const m = opts.transA ? a.shape[1] : a.shape[0];
    const n = opts.transB ? b.shape[0] : b.shape[1];
    const attrs: Record<string, Attr> = {};
    if (opts.transA) attrs.transA = int(1);
    if (opts.transB) attrs.transB = int(1);
    if (opts.alpha !== undefined) attrs.alpha = float(opts.alpha);
    if (opts.beta !== undefined) attrs.beta = float(opts.beta);
    return this.node('Gemm', c ? [a, b, c] : [a, b], attrs, [{ dtype: a.dtype, shape: [m, n] }])[0];
  }

  // Reductions (opset 17: ReduceSum takes axes as an input, ReduceMean/ReduceMax as an attribute)
  private reducedShape(x: Value, axes: number[], keepdims: boolean): Dim[] {
    const norm = axes.map((a) => normAxis(a, x.shape.length));
    return x.shape.flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
  }

  reduceSum(x: Value, axes: number[], keepdims = true): Value {
    return this.node('ReduceSum', [x, this.int64s(axes)], { keepdims: int(keepdims ? 1 : 0) }, [{ dtype: x.dtype, shape: this.reducedShape(x, axes, keepdims) }])[0];
  }

  reduceMean(x: Value, axes: number[], keepdims = true): Value {
    return this.node('ReduceMean', [x], { axes: ints(axes), keepdims: int(keepdims ? 1 : 0) }, [{ dtype: x.dtype, shape: this.reducedShape(x, axes, keepdims) }])[0];
  }

  reduceMax(x: Value, axes: number[], keepdims = true): Value {
    return this.node('ReduceMax', [x], { axes: ints(axes), keepdims: int(keepdims ? 1 : 0) }, [{ dtype: x.dtype, shape: this.reducedShape(x, axes, keepdims) }])[0];
  }

  softmax = (x: Value, axis = -1) => this.unary('Softmax', x, { axis: int(axis) });
  logSoftmax = (x: Value, axis = -1) => this.unary('LogSoftmax', x, { axis: int(axis) });

  // Shapes
  shapeOf(x: Value): Value {
    return this.node('Shape', [x], {}, [{ dtype: 'int64', shape: [x.shape.length] }])[0];
  }

  size(x: Value): Value {
    return this.node('Size', [x], {}, [{ dtype: 'int64', shape: [] }])[0];
  }

  /**
   * Reshape to constant dims (ONNX rules: 0 copies the input dim, -1 is inferred). `outShape` declares the result's
   * symbolic dims when they cannot be inferred here.
   */
  reshape(x: Value, dims: number[], outShape?: Dim[]): Value {
    let shape: Dim[];
    if (outShape) shape = outShape;
    else {
      shape = dims.map((d, i) => (d === 0 ? x.shape[i] : d));
      const unknown = shape.indexOf(-1);
      if (unknown >= 0) {
        const known = shape.filter((_, i) => i !== unknown);
        const symbols = x.shape.filter((d) => typeof d === 'string');
        if (x.shape.every((d) => typeof d === 'number') && known.every((d) => typeof d === 'number')) {
          const total = (x.shape as number[]).reduce((p, d) => p * d, 1);
          shape[unknown] = total / (known as number[]).reduce((p, d) => p * d, 1);
        } else if (symbols.length === 1 && known.every((d) => typeof d === 'number')) {
          const rest = (x.shape.filter((d) => typeof d === 'number') as number[]).reduce((p, d) => p * d, 1);
          const k = (known as number[]).reduce((p, d) => p * d, 1);
          shape[unknown] = rest === k ? symbols[0] : `${symbols[0]}*${rest / k}`;
        } else shape[unknown] = this.fresh('dim');
      }
    }
    return this.node('Reshape', [x, this.int64s(dims)], {}, [{ dtype: x.dtype, shape }])[0];
  }

  /** Reshape to the runtime shape held by an int64 value (used by gradients: back to an input's shape). */
  reshapeTo(x: Value, shape: Value, outShape: readonly Dim[]): Value {
    return this.node('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: outShape }])[0];
  }

  transpose(x: Value, perm: number[]): Value {
    return this.node('Transpose', [x], { perm: ints(perm) }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }])[0];
  }

  concat(xs: Value[], axis: number): Value {
    const ax = normAxis(axis, xs[0].shape.length);
    const shape = [...xs[0].shape];
    shape[ax] = sumDims(xs.map((x) => x.shape[ax]));
    return this.node('Concat', xs, { axis: int(axis) }, [{ dtype: xs[0].dtype, shape }])[0];
  }

  /** Static slice (steps 1) along the given axes. */
  slice(x: Value, starts: number[], ends: number[], axes: number[]): Value {
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      const ax = normAxis(a, shape.length);
      const d = shape[ax];
      if (typeof d === 'number') {
        const norm = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
        shape[ax] = Math.max(norm(ends[k]) - norm(starts[k]), 0);
      } else shape[ax] = this.fresh('dim');
    });
    return this.node('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)], {}, [{ dtype: x.dtype, shape }])[0];
  }

  /** Split along an axis into parts of the given sizes (an int64 value when sizes are only known at run time). */
  split(x: Value, sizes: number[] | Value, axis: number, outShapes?: Dim[][]): Value[] {
    const ax = normAxis(axis, x.shape.length);
    const count = Array.isArray(sizes) ? sizes.length : (sizes.shape[0] as number);
    const shapes =
      outShapes ??
      Array.from({ length: count }, (_, k) => x.shape.map((d, i) => (i === ax ? (Array.isArray(sizes) ? sizes[k] : this.fresh('dim')) : d)));
    const splitInput = Array.isArray(sizes) ? this.int64s(sizes) : sizes;
    return this.node('Split', [x, splitInput], { axis: int(axis) }, shapes.map((shape) => ({ dtype: x.dtype, shape })));
  }

  unsqueeze(x: Value, axes: number[]): Value {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank));
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
    return this.node('Unsqueeze', [x, this.int64s(axes)], {}, [{ dtype: x.dtype, shape }])[0];
  }

  squeeze(x: Value, axes: number[]): Value {
    const norm = axes.map((a) => normAxis(a, x.shape.length));
    return this.node('Squeeze', [x, this.int64s(axes)], {}, [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !norm.includes(i)) }])[0];
  }

  expand(x: Value, shape: Value, outShape: readonly Dim[]): Value {
    return this.node('Expand', [x, shape], {}, [{ dtype: x.dtype, shape: broadcastShapes(x.shape, outShape) }])[0];
  }

  /** A tensor of zeros shaped like `like`. */
  zerosLike(like: Value): Value {
    return this.expand(this.scalar(0, like.dtype), this.shapeOf(like), like.shape);
  }

  // Indexing
  gather(data: Value, indices: Value, axis = 0): Value {
    const ax = normAxis(axis, data.shape.length);
    const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
    return this.node('Gather', [data, indices], { axis: int(axis) }, [{ dtype: data.dtype, shape }])[0];
  }

  gatherElements(data: Value, indices: Value, axis: number): Value {
    return this.node('GatherElements', [data, indices], { axis: int(axis) }, [{ dtype: data.dtype, shape: indices.shape }])[0];
  }

  gatherND(data: Value, indices: Value): Value {
    const k = indices.shape[indices.shape.length - 1];
    if (typeof k !== 'number') throw new Error('gatherND: the last dim of indices must be static');
    const shape = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
    return this.node('GatherND', [data, indices], {}, [{ dtype: data.dtype, shape }])[0];
  }

  scatterND(data: Value, indices: Value, updates: Value, reduction?: 'add'): Value {
    return this.node('ScatterND', [data, indices, updates], reduction ? { reduction: str(reduction) } : {}, [{ dtype: data.dtype, shape: data.shape }])[0];
  }

  scatterElements(data: Value, indices: Value, updates: Value, axis: number, reduction?: 'add'): Value {
    const attrs: Record<string, Attr> = { axis: int(axis) };
    if (reduction) attrs.reduction = str(reduction);
    return this.node('ScatterElements', [data, indices, updates], attrs, [{ dtype: data.dtype, shape: data.shape }])[0];
  }

  /** Constant zero padding; pads = [begin_0..begin_{r-1}, end_0..end_{r-1}], static. */
  pad(x: Value, pads: number[]): Value {
    const r = x.shape.length;
    const shape = x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + r] : pads[i] + pads[i + r] === 0 ? d : this.fresh('dim')));
    return this.node('Pad', [x, this.int64s(pads)], {}, [{ dtype: x.dtype, shape }])[0];
  }
}

/** ONNX TensorProto.DataType codes. */
export const DATA_TYPE: Record<DType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};
