// Every gradient rule in src/backend/onnx/autodiff.ts against central finite differences (float64, ORT CPU).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GRADIENT_RULES } from '../../../../src/backend/onnx';
import { gradCheck } from './gradcheck';

const S23 = { shape: [2, 3] };
const positive = (shape: number[]) => ({ shape, range: [0.5, 2] as [number, number] });

describe('gradient rules vs finite differences', () => {
  const tested = new Set<string>();
  const check = (op: string, name: string, run: () => Promise<void>) => {
    tested.add(op);
    test(`${op}: ${name}`, run);
  };

  check('Add', 'broadcast [2,3] + [3]', () => gradCheck([S23, { shape: [3] }], (g, [a, b]) => g.add(a, b)));
  check('Add', 'broadcast [2,1] + [1,3]', () => gradCheck([{ shape: [2, 1] }, { shape: [1, 3] }], (g, [a, b]) => g.add(a, b)));
  check('Sub', 'broadcast [2,3] - [2,1]', () => gradCheck([S23, { shape: [2, 1] }], (g, [a, b]) => g.sub(a, b)));
  check('Mul', 'same input twice (x*x) and broadcast', () => gradCheck([S23, { shape: [3] }], (g, [a, b]) => g.mul(g.mul(a, a), b)));
  check('Div', 'a / b', () => gradCheck([S23, positive([2, 3])], (g, [a, b]) => g.div(a, b)));
  check('Pow', 'a ^ b, both differentiated', () => gradCheck([positive([2, 3]), { shape: [3] }], (g, [a, b]) => g.pow(a, b)));
  check('Pow', 'constant exponent', () => gradCheck([S23], (g, [a]) => g.pow(a, g.scalar(3, 'float64'))));
  check('Neg', 'neg', () => gradCheck([S23], (g, [a]) => g.neg(a)));
  check('Abs', 'abs', () => gradCheck([S23], (g, [a]) => g.abs(a)));
  check('Sqrt', 'sqrt', () => gradCheck([positive([2, 3])], (g, [a]) => g.sqrt(a)));
  check('Reciprocal', 'reciprocal', () => gradCheck([positive([2, 3])], (g, [a]) => g.reciprocal(a)));
  check('Exp', 'exp', () => gradCheck([S23], (g, [a]) => g.exp(a)));
  check('Log', 'log', () => gradCheck([positive([2, 3])], (g, [a]) => g.log(a)));
  check('Sigmoid', 'silu = x * sigmoid(x)', () => gradCheck([S23], (g, [a]) => g.mul(a, g.sigmoid(a))));
  check('Identity', 'identity', () => gradCheck([S23], (g, [a]) => g.identity(a)));
  check('Cast', 'through float32 and back', () =>
    // float32 rounding makes finite differences noisy: a larger step and tolerance
    gradCheck([S23], (g, [a]) => g.cast(g.mul(g.cast(a, 'float32'), g.cast(a, 'float32')), 'float64'), 1, { eps: 1e-3, rtol: 1e-3 }),
  );
  check('Where', 'where(a > b, a, b)', () =>
    gradCheck([S23, { shape: [3] }], (g, [a, b]) => g.where(g.less(b, a), a, b)),
  );
  check('MatMul', '[2,3] x [3,4]', () => gradCheck([S23, { shape: [3, 4] }], (g, [a, b]) => g.matmul(a, b)));
  check('MatMul', 'batched [2,2,3] x [2,3,2]', () => gradCheck([{ shape: [2, 2, 3] }, { shape: [2, 3, 2] }], (g, [a, b]) => g.matmul(a, b)));
  check('MatMul', 'broadcast [2,2,3] x [3,2]', () => gradCheck([{ shape: [2, 2, 3] }, { shape: [3, 2] }], (g, [a, b]) => g.matmul(a, b)));
  for (const transA of [false, true])
    for (const transB of [false, true])
      check('Gemm', `transA=${transA} transB=${transB} alpha beta bias`, () =>
        gradCheck([{ shape: transA ? [3, 2] : [2, 3] }, { shape: transB ? [4, 3] : [3, 4] }, { shape: [4] }], (g, [a, b, c]) =>
          g.gemm(a, b, c, { transA, transB, alpha: 0.7, beta: 1.3 }),
        ),
      );
  check('ReduceSum', 'axis 1, keepdims 0', () => gradCheck([{ shape: [2, 3, 2] }], (g, [a]) => g.reduceSum(a, [1], false)));
  check('ReduceSum', 'axes [0,2], keepdims 1', () => gradCheck([{ shape: [2, 3, 2] }], (g, [a]) => g.reduceSum(a, [0, -1], true)));
  check('ReduceMean', 'last axis, keepdims (RMSNorm style)', () => gradCheck([{ shape: [2, 3, 2] }], (g, [a]) => g.reduceMean(g.mul(a, a), [-1], true)));
  check('ReduceMean', 'axis 0, keepdims 0', () => gradCheck([S23], (g, [a]) => g.reduceMean(a, [0], false)));
  check('ReduceMean', 'over a runtime-sized axis', () =>
    gradCheck([S23], (g, [a]) => g.reshape(g.reduceMean(g.reshape(a, [-1, 3], ['N', 3]), [0], true), [1, 3])),
  );
  check('ReduceMax', 'axis 1, keepdims 0', () => gradCheck([S23], (g, [a]) => g.reduceMax(a, [1], false)));
  check('Softmax', 'last axis', () => gradCheck([S23], (g, [a]) => g.softmax(a, -1)));
  check('Softmax', 'axis 0', () => gradCheck([S23], (g, [a]) => g.softmax(a, 0)));
  check('LogSoftmax', 'last axis', () => gradCheck([S23], (g, [a]) => g.logSoftmax(a, -1)));
  check('Reshape', '[2,3] -> [3,2] -> [6]', () => gradCheck([S23], (g, [a]) => g.mul(g.reshape(g.reshape(a, [3, 2]), [-1]), g.reshape(a, [6]))));
  check('Transpose', 'perm [2,0,1]', () => gradCheck([{ shape: [2, 3, 2] }], (g, [a]) => g.transpose(a, [2, 0, 1])));
  check('Concat', 'axis 1 of three inputs', () =>
    gradCheck([{ shape: [2, 1] }, S23, { shape: [2, 2] }], (g, [a, b, c]) => g.concat([a, b, c], 1)),
  );
  check('Concat', 'with a symbolic (runtime-sized) input', () =>
    gradCheck([S23], (g, [a]) => {
      const sym = g.reshape(a, [-1, 3], ['N', 3]);
      return g.reshape(g.mul(g.concat([sym, a], 0), g.constant('float64', [1, 3], [1, 2, 3])), [4, 3]);
    }),
  );
  check('Slice', 'static slices incl. negative starts', () =>
    gradCheck([{ shape: [4, 3] }], (g, [a]) => g.concat([g.slice(a, [1, -2], [3, 100], [0, 1]), g.slice(a, [0, 1], [2, 3], [0, 1])], 0)),
  );
  check('Split', 'three parts, one unused', () =>
    gradCheck([{ shape: [2, 6] }], (g, [a]) => {
      const [p, , r] = g.split(a, [1, 2, 3], 1);
      return g.concat([g.mul(p, p), r], 1);
    }),
  );
  check('Unsqueeze', 'axes [0, -1]', () => gradCheck([S23], (g, [a]) => g.unsqueeze(a, [0, -1])));
  check('Squeeze', 'axis 1', () => gradCheck([{ shape: [2, 1, 3] }], (g, [a]) => g.squeeze(a, [1])));
  check('Flatten', 'axis 1', () =>
    gradCheck([{ shape: [2, 3, 2] }], (g, [a]) => g.node('Flatten', [a], { axis: { int: 1 } }, [{ dtype: 'float64', shape: [2, 6] }])[0]),
  );
  check('Expand', '[3] -> [2,3] and [2,1] -> [2,3]', () =>
    gradCheck([{ shape: [3] }, { shape: [2, 1] }], (g, [a, b]) => g.mul(g.expand(a, g.int64s([2, 3]), [2, 3]), g.expand(b, g.int64s([2, 3]), [2, 3]))),
  );
  check('Gather', 'rows with a repeated index', () =>
    gradCheck([{ shape: [4, 3] }], (g, [a]) => g.gather(a, g.constant('int64', [2, 2], [3, 0, 3, 1]), 0)),
  );
  check('GatherElements', 'axis 1 (picking target log-probs)', () =>
    gradCheck([{ shape: [3, 4] }], (g, [a]) => g.gatherElements(g.logSoftmax(a, -1), g.constant('int64', [3, 2], [1, 3, 0, 0, 2, 1]), 1)),
  );
  check('GatherND', 'pairs of indices', () =>
    gradCheck([{ shape: [3, 4] }], (g, [a]) => g.gatherND(a, g.constant('int64', [3, 2], [0, 1, 2, 3, 0, 1]))),
  );

  test('every op with a gradient rule is covered by a test above', () => {
    const untested = Object.keys(GRADIENT_RULES).filter((op) => !tested.has(op));
    assert.deepEqual(untested, []);
  });
});
