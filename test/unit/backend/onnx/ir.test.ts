// The graph IR's shape inference and encoding, and its serialisation (incl. external-data initializers).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { broadcastShapes, encodeRaw, Graph, OPSET, serialize, toHalfBits } from '../../../../src/backend/onnx';
import { float32ToFloat16Bits } from '../../../../src/backend/model/safetensors';

describe('graph IR', () => {
  test('broadcasting follows numpy, keeping symbolic dims', () => {
    assert.deepEqual(broadcastShapes([2, 1, 3], [4, 1]), [2, 4, 3]);
    assert.deepEqual(broadcastShapes(['T', 1], [1, 8]), ['T', 8]);
    assert.deepEqual(broadcastShapes([1], ['T', 5]), ['T', 5]);
    assert.throws(() => broadcastShapes([2, 3], [4, 3]), /cannot broadcast/);
  });

  test('op helpers infer output shapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['T', 12]);
    assert.deepEqual(g.reshape(x, [-1, 3, 4]).shape, ['T', 3, 4]);
    assert.deepEqual(g.transpose(g.reshape(x, [-1, 3, 4]), [1, 2, 0]).shape, [3, 4, 'T']);
    assert.deepEqual(g.concat([x, g.input('y', 'float32', ['P', 12])], 0).shape, ['T+P', 12]);
    assert.deepEqual(g.slice(x, [2], [-2], [1]).shape, ['T', 8]);
    assert.deepEqual(g.reduceSum(x, [1], false).shape, ['T']);
    assert.deepEqual(g.unsqueeze(x, [0, -1]).shape, [1, 'T', 12, 1]);
    assert.deepEqual(g.gemm(x, g.constant('float32', [5, 12], new Array(60).fill(0)), undefined, { transB: true }).shape, ['T', 5]);
    assert.deepEqual(g.gather(g.constant('float32', [10, 4], new Array(40).fill(0)), g.input('ids', 'int64', ['N']), 0).shape, ['N', 4]);
    assert.equal(g.cast(x, 'float32'), x, 'a cast to the same type is no node');
  });

  test('float16 encoding rounds like the reference converter (normals, subnormals, overflow)', () => {
    const values = [0, 1, -2, 0.1, 65504, 70000, 6e-8, 1e-6, -3.14159, 2 ** -14, 1 / 3];
    assert.deepEqual(values.map(toHalfBits), Array.from(float32ToFloat16Bits(values)));
    assert.deepEqual([...encodeRaw('int64', [-1, 2])], [255, 255, 255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('serialises to an ONNX model with opset 17, symbolic dims and external-data initializers', () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', ['T', 4]);
    const w = g.external('layer.weight', 'bfloat16', [3, 4], { location: 'model-00001.safetensors', offset: 1234, length: 24 });
    g.output(g.gemm(x, g.cast(w, 'float32'), undefined, { transB: true, alpha: 1 }), 'y');
    const model = onnx.ModelProto.decode(serialize(g));
    const graph = model.graph as onnx.GraphProto;
    assert.equal(Number(model.opsetImport[0].version), OPSET);
    assert.equal(graph.input[0].type?.tensorType?.shape?.dim?.[0].dimParam, 'T');
    const init = graph.initializer.find((i) => i.name === 'layer.weight') as onnx.TensorProto;
    assert.equal(init.dataType, onnx.TensorProto.DataType.BFLOAT16);
    assert.equal(init.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
    assert.deepEqual(Object.fromEntries(init.externalData.map((e) => [e.key, e.value])), { location: 'model-00001.safetensors', offset: '1234', length: '24' });
    const gemm = graph.node.find((n) => n.opType === 'Gemm') as onnx.NodeProto;
    const alpha = gemm.attribute.find((a) => a.name === 'alpha') as onnx.AttributeProto;
    assert.equal(alpha.type, onnx.AttributeProto.AttributeType.FLOAT, 'alpha = 1 is a float attribute, not an int');
    assert.deepEqual(graph.output.map((o) => o.name), ['y']);
  });
});
