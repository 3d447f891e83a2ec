import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  readSafetensorsHeader,
  readTensor,
  readTensorF64,
  readTensorIndex,
  writeSafetensors,
} from '../../../../src/backend/model/safetensors';
import { ModelError } from '../../../../src/backend/errors';
import { sharedPath } from '../../repo';

const tempDir = () => mkdtempSync(join(tmpdir(), 'agentchord-st-'));

/** A safetensors file assembled byte by byte here, independently of writeSafetensors. */
function handMadeFile(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

describe('safetensors', () => {
  test('reads a hand-assembled file: offsets are absolute, data converts from F32/F16/BF16/F64', () => {
    const dir = tempDir();
    const f32 = Buffer.from(new Float32Array([1.5, -2, 3.25]).buffer);
    const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer); // 1, -2, 0.333251953125
    const bf16 = Buffer.from(new Uint16Array([0x3f80, 0x4049]).buffer); // 1, 3.140625
    const f64 = Buffer.from(new Float64Array([0.1, 1e-300]).buffer);
    const data = Buffer.concat([f32, f16, bf16, f64]);
    const header = {
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      h: { dtype: 'F16', shape: [1, 3], data_offsets: [12, 18] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [18, 22] },
      d: { dtype: 'F64', shape: [2], data_offsets: [22, 38] },
    };
    const bytes = handMadeFile(header, data);
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    const index = readTensorIndex(dir);
    const dataStart = bytes.length - data.length;
    assert.deepEqual(index.get('h'), { name: 'h', dtype: 'F16', shape: [1, 3], file: 'model.safetensors', offset: dataStart + 12, length: 6 });
    assert.deepEqual(Array.from(readTensor(dir, index.get('a')!)), [1.5, -2, 3.25]);
    assert.deepEqual(Array.from(readTensor(dir, index.get('h')!)), [1, -2, 0.333251953125]);
    assert.deepEqual(Array.from(readTensor(dir, index.get('b')!)), [1, 3.140625]);
    assert.deepEqual(Array.from(readTensorF64(dir, index.get('d')!)), [0.1, 1e-300]);
    assert.deepEqual(readSafetensorsHeader(dir, 'model.safetensors').metadata, { format: 'pt' });
  });

  test('reads the stories260k weights', () => {
    const dir = sharedPath('models', 'stories260k');
    const index = readTensorIndex(dir);
    const embed = index.get('model.embed_tokens.weight')!;
    assert.deepEqual(embed.shape, [512, 64]);
    assert.equal(embed.dtype, 'F32');
    assert.deepEqual(index.get('model.layers.4.self_attn.k_proj.weight')!.shape, [32, 64]);
    assert.deepEqual(index.get('model.layers.0.mlp.gate_proj.weight')!.shape, [172, 64]);
    assert.equal(index.has('lm_head.weight'), false, 'tied embeddings');
    const values = readTensor(dir, embed);
    assert.equal(values.length, 512 * 64);
    assert.ok(values.every(Number.isFinite));
    const norm = readTensor(dir, index.get('model.norm.weight')!);
    assert.ok(norm.some((v) => v !== 0));
  });

  test('writeSafetensors round-trips every float dtype, pads the header, and leaves no temp file', () => {
    const dir = tempDir();
    const path = join(dir, 'out.safetensors');
    const values = new Float32Array([0, 1, -1, 0.5, 65504, -0.25]);
    writeSafetensors(
      path,
      [
        { name: 'x32', dtype: 'F32', shape: [2, 3], data: values },
        { name: 'x64', dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e-200, 7]) },
        { name: 'x16', dtype: 'F16', shape: [6], data: values },
        { name: 'xbf', dtype: 'BF16', shape: [2, 3], data: new Uint16Array(float32ToBFloat16Bits(values)) },
      ],
      { note: 'hi' },
    );
    assert.deepEqual(readdirSync(dir), ['out.safetensors']);
    const raw = readFileSync(path);
    const headerLength = Number(raw.readBigUInt64LE(0));
    assert.equal(headerLength % 8, 0);
    const header = JSON.parse(raw.subarray(8, 8 + headerLength).toString());
    assert.deepEqual(header.x32, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    assert.deepEqual(header.__metadata__, { note: 'hi' });
    const index = new Map(readSafetensorsHeader(dir, 'out.safetensors').tensors.map((t) => [t.name, t]));
    assert.deepEqual(Array.from(readTensor(dir, index.get('x32')!)), Array.from(values));
    assert.deepEqual(Array.from(readTensorF64(dir, index.get('x64')!)), [Math.PI, -1e-200, 7]);
    assert.deepEqual(Array.from(readTensor(dir, index.get('x16')!)), Array.from(values)); // all exactly representable
    assert.deepEqual(Array.from(readTensor(dir, index.get('xbf')!)), [0, 1, -1, 0.5, 65536, -0.25]); // 65504 rounds in bf16
  });

  test('a failed write keeps the previous file intact', () => {
    const dir = tempDir();
    const path = join(dir, 'keep.safetensors');
    writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([42]) }]);
    const before = readFileSync(path);
    assert.throws(() => writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1]) }]), /needs 8/);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir), ['keep.safetensors']);
  });

  test('half-precision conversions round to nearest even and handle the edges', () => {
    const f16 = (x: number) => float32ToFloat16Bits([x])[0];
    assert.equal(f16(1), 0x3c00);
    assert.equal(f16(-2), 0xc000);
    assert.equal(f16(65504), 0x7bff);
    assert.equal(f16(70000), 0x7c00); // overflow -> inf
    assert.equal(f16(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f16(2 ** -26), 0x0000); // underflow
    assert.equal(f16(1 + 2 ** -11), 0x3c00); // tie -> even
    assert.equal(f16(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits([NaN]))[0]));
    assert.deepEqual(Array.from(float16BitsToFloat32(new Uint16Array([0x0001, 0x7c00, 0xfc00, 0x8000]))), [2 ** -24, Infinity, -Infinity, -0]);
    const bf = (x: number) => float32ToBFloat16Bits([x])[0];
    assert.equal(bf(1), 0x3f80);
    assert.equal(bf(Math.fround(1 + 2 ** -8)), 0x3f80); // tie -> even
    assert.equal(bf(Math.fround(1 + 3 * 2 ** -8)), 0x3f82);
  });

  test('sharded folders are read through model.safetensors.index.json', () => {
    const dir = tempDir();
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'b', dtype: 'F32', shape: [2], data: new Float32Array([2, 3]) }]);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
    const index = readTensorIndex(dir);
    assert.equal(index.get('b')!.file, 'model-00002-of-00002.safetensors');
    assert.deepEqual(Array.from(readTensor(dir, index.get('b')!)), [2, 3]);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } }));
    assert.throws(() => readTensorIndex(dir), /weight_map lists "c".*does not contain it/);
  });

  test('errors name the file: truncated header, bad JSON, data beyond the end', () => {
    const dir = tempDir();
    const file = join(dir, 'model.safetensors');
    const isModelError = (pattern: RegExp) => (e: Error) => e instanceof ModelError && e.message.includes(file) && pattern.test(e.message);
    writeFileSync(file, Buffer.from([1, 2, 3]));
    assert.throws(() => readTensorIndex(dir), isModelError(/truncated safetensors header/));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    writeFileSync(file, Buffer.concat([len, Buffer.from('{}')]));
    assert.throws(() => readTensorIndex(dir), isModelError(/truncated safetensors header/));
    len.writeBigUInt64LE(5n);
    writeFileSync(file, Buffer.concat([len, Buffer.from('{"a":')]));
    assert.throws(() => readTensorIndex(dir), isModelError(/bad safetensors header JSON/));
    writeFileSync(file, handMadeFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)));
    assert.throws(() => readTensorIndex(dir), isModelError(/beyond the end of the file/));
    writeFileSync(file, handMadeFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, Buffer.alloc(16)));
    assert.throws(() => readTensorIndex(dir), isModelError(/needs 12/));
    const empty = tempDir();
    assert.throws(() => readTensorIndex(empty), /no model.safetensors/);
  });
});
