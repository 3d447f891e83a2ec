import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ropeInverseFrequencies, ropeTables } from '../../../../src/backend/model/rope';
import type { RopeScaling } from '../../../../src/backend/model/config';

const cfg = (headDim: number, ropeTheta: number, ropeScaling?: RopeScaling, maxPositions = 2048) => ({ headDim, ropeTheta, ropeScaling, maxPositions });

function assertClose(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

describe('ropeTables', () => {
  test('default RoPE equals cos/sin(p / theta^(2i/d)), duplicated over both halves', () => {
    const d = 8;
    const positions = [0, 1, 5, 37, 511];
    const { cos, sin } = ropeTables(cfg(d, 10000), positions, 'float64');
    assert.ok(cos instanceof Float64Array);
    assert.equal(cos.length, positions.length * d);
    positions.forEach((p, row) => {
      for (let j = 0; j < d; j++) {
        const i = j % (d / 2);
        const angle = p / 10000 ** ((2 * i) / d);
        assertClose(cos[row * d + j], Math.cos(angle), 1e-12, `cos[${p},${j}]`);
        assertClose(sin[row * d + j], Math.sin(angle), 1e-12, `sin[${p},${j}]`);
      }
    });
    const f32 = ropeTables(cfg(d, 10000), positions, 'float32');
    assert.ok(f32.cos instanceof Float32Array);
    for (let k = 0; k < cos.length; k++) assertClose(f32.cos[k], cos[k], 1e-5, `f32 cos[${k}]`);
  });

  test('llama3 scaling matches an independent computation (Llama 3.1 settings)', () => {
    const scaling: RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const d = 128;
    const theta = 500000;
    const { invFreq } = ropeInverseFrequencies(cfg(d, theta, scaling, 131072), 1);
    // Independent restatement (Meta's reference apply_scaling): by wavelength band, in frequency terms.
    for (let i = 0; i < d / 2; i++) {
      const f = 1 / theta ** ((2 * i) / d);
      const periods = (8192 * f) / (2 * Math.PI); // how many full turns fit in the original context
      let expected: number;
      if (periods > 4) expected = f; // wavelength shorter than 8192/4: untouched
      else if (periods < 1) expected = f / 8; // longer than 8192: fully interpolated
      else {
        const t = (periods - 1) / 3;
        expected = (1 - t) * (f / 8) + t * f;
      }
      assertClose(invFreq[i], expected, 1e-12, `inv_freq[${i}]`);
    }
    // Spot values: the highest frequency is untouched, the lowest is divided by 8.
    assert.equal(invFreq[0], 1);
    assertClose(invFreq[63], 1 / theta ** (126 / 128) / 8, 1e-12, 'lowest frequency');
    // And the tables use them: row for position 1000, column i and i + 64.
    const { cos, sin } = ropeTables(cfg(d, theta, scaling, 131072), [1000], 'float64');
    for (const i of [0, 20, 40, 63]) {
      assertClose(cos[i], Math.cos(1000 * invFreq[i]), 1e-12, `cos ${i}`);
      assertClose(cos[64 + i], Math.cos(1000 * invFreq[i]), 1e-12, `cos ${64 + i}`);
      assertClose(sin[64 + i], Math.sin(1000 * invFreq[i]), 1e-12, `sin ${64 + i}`);
    }
    // There is a medium band (neither untouched nor /8) for these settings.
    const medium = Array.from(invFreq).filter((v, i) => {
      const f = 1 / theta ** ((2 * i) / d);
      return v !== f && Math.abs(v - f / 8) > 1e-15;
    });
    assert.ok(medium.length > 0);
  });

  test('linear scaling is default RoPE at position p / factor', () => {
    const lin = ropeTables(cfg(16, 10000, { type: 'linear', factor: 4 }), [0, 8, 100], 'float64');
    const ref = ropeTables(cfg(16, 10000), [0, 2, 25], 'float64');
    for (let k = 0; k < lin.cos.length; k++) assertClose(lin.cos[k], ref.cos[k], 1e-12, `cos ${k}`);
  });

  test('dynamic NTK changes the base only beyond max_position_embeddings', () => {
    const scaling: RopeScaling = { type: 'dynamic', factor: 2 };
    const short = ropeInverseFrequencies(cfg(16, 10000, scaling, 64), 64).invFreq;
    const plain = ropeInverseFrequencies(cfg(16, 10000), 64).invFreq;
    assert.deepEqual(Array.from(short), Array.from(plain));
    const long = ropeInverseFrequencies(cfg(16, 10000, scaling, 64), 128).invFreq;
    const base = 10000 * ((2 * 128) / 64 - 1) ** (16 / 14);
    for (let i = 0; i < 8; i++) assertClose(long[i], 1 / base ** ((2 * i) / 16), 1e-12, `inv_freq ${i}`);
  });

  test('yarn scales cos/sin by 0.1 ln(factor) + 1 and keeps high frequencies', () => {
    const scaling: RopeScaling = { type: 'yarn', factor: 4, originalMaxPositions: 4096 };
    const { invFreq, attentionScaling } = ropeInverseFrequencies(cfg(64, 1e6, scaling, 16384), 1);
    assertClose(attentionScaling, 0.1 * Math.log(4) + 1, 1e-12, 'attention scaling');
    assertClose(invFreq[0], 1, 1e-12, 'highest frequency (extrapolated)');
    assertClose(invFreq[31], 1 / (4 * 1e6 ** (62 / 64)), 1e-12, 'lowest frequency (interpolated)');
    const { cos } = ropeTables(cfg(64, 1e6, scaling, 16384), [0], 'float64');
    assertClose(cos[0], attentionScaling, 1e-12, 'cos(0) * scaling');
  });
});
