/**
 * Graph -> ONNX ModelProto bytes (IR version 8, default opset 17), through the `onnx-proto` protobuf bindings.
 */
import { onnx } from 'onnx-proto';
import { DATA_TYPE, type Attr, type Dim, type Graph, type Value } from './ir';

export const OPSET = 17;
const IR_VERSION = 8;

function valueInfo(v: Value): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[v.dtype],
        shape: { dim: v.shape.map((d: Dim) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, a: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.str) };
}

/**
 * The nodes that the graph's outputs depend on, in order. Graph builders leave dead nodes behind (the forward half of
 * a vector-Jacobian product, S' = sum(y * dy), is never an output): they are dropped rather than left to the runtime.
 */
export function liveNodes(graph: Graph): Graph['nodes'] {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const keep: boolean[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    keep[i] = n.outputs.some((o) => needed.has(o));
    if (keep[i]) for (const name of n.inputs) if (name) needed.add(name);
  }
  return graph.nodes.filter((_, i) => keep[i]);
}

export function serialize(graph: Graph): Uint8Array {
  const nodes = liveNodes(graph);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializer: onnx.ITensorProto[] = graph.initializers.filter(({ value }) => used.has(value.name)).map(({ value, data }) => {
    const tensor: onnx.ITensorProto = { name: value.name, dataType: DATA_TYPE[value.dtype], dims: value.shape as number[] };
    if (data instanceof Uint8Array) tensor.rawData = data;
    else {
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: data.location },
        { key: 'offset', value: String(data.offset) },
        { key: 'length', value: String(data.length) },
      ];
    }
    return tensor;
  });
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'agentchord',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: nodes.map((n, i) => ({
        name: `n${i}_${n.op}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attribute(k, a)),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
