/**
 * The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
 * N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then the data.
 * Offsets in the header are relative to the end of the header; TensorInfo.offset here is absolute in the file.
 * Hand-written rather than a library: the npm packages for it either read whole files into memory or target browsers,
 * and the format is this small.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { endianness } from 'node:os';
import { ModelError } from '../errors';

export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Relative to the model folder. */
  file: string;
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  /** Bytes. */
  length: number;
}

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata?: Record<string, string>;
}

/** Reads only the header of one .safetensors file; `file` is resolved against `dir` and reported relative to it. */
export function readSafetensorsHeader(dir: string, file: string): SafetensorsHeader {
  const path = join(dir, file);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ModelError(`${path}: cannot open safetensors file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const lengthBytes = Buffer.alloc(8);
    if (readSync(fd, lengthBytes, 0, 8, 0) < 8) throw new ModelError(`${path}: truncated safetensors header (file is ${fileSize} bytes)`);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (headerLength > fileSize - 8 || headerLength > 100_000_000) {
      throw new ModelError(`${path}: truncated safetensors header (header says ${headerLength} bytes, file has ${fileSize - 8} after the length)`);
    }
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch (e) {
      throw new ModelError(`${path}: bad safetensors header JSON (${(e as Error).message})`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelError(`${path}: safetensors header is not a JSON object`);
    const dataStart = 8 + headerLength;
    const tensors: TensorInfo[] = [];
    let metadata: Record<string, string> | undefined;
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = entry as Record<string, string>;
        continue;
      }
      const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new ModelError(`${path}: tensor "${name}" has unknown dtype ${JSON.stringify(e?.dtype)}`);
      const dtype = e.dtype as SafetensorsDtype;
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ModelError(`${path}: tensor "${name}" has an invalid shape`);
      const offsets = e.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
        throw new ModelError(`${path}: tensor "${name}" has invalid data_offsets`);
      }
      const [begin, end] = offsets as [number, number];
      const shape = e.shape as number[];
      const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
      if (end - begin !== expected) throw new ModelError(`${path}: tensor "${name}" has ${end - begin} bytes of data but shape ${JSON.stringify(shape)} × ${dtype} needs ${expected}`);
      if (dataStart + end > fileSize) throw new ModelError(`${path}: tensor "${name}" data ends at byte ${dataStart + end}, beyond the end of the file (${fileSize} bytes)`);
      tensors.push({ name, dtype, shape, file, offset: dataStart + begin, length: end - begin });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** Every tensor of a model folder: `model.safetensors`, or the shards listed in `model.safetensors.index.json`. */
export function readTensorIndex(dir: string): Map<string, TensorInfo> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  let files: string[];
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (e) {
      throw new ModelError(`${indexPath}: bad JSON (${(e as Error).message})`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new ModelError(`${indexPath}: field "weight_map" is missing`);
    for (const shard of Object.values(index.weight_map)) {
      if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/')) throw new ModelError(`${indexPath}: weight_map names an invalid file ${JSON.stringify(shard)}`);
    }
    files = [...new Set(Object.values(index.weight_map))];
    const result = new Map<string, TensorInfo>();
    for (const file of files) for (const t of readSafetensorsHeader(dir, file).tensors) result.set(t.name, t);
    for (const [name, shard] of Object.entries(index.weight_map)) {
      const found = result.get(name);
      if (!found) throw new ModelError(`${indexPath}: weight_map lists "${name}" in ${shard}, but that file does not contain it`);
    }
    return result;
  }
  if (!existsSync(join(dir, 'model.safetensors'))) throw new ModelError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  return new Map(readSafetensorsHeader(dir, 'model.safetensors').tensors.map((t) => [t.name, t]));
}

/** Reads a tensor's bytes into `target` (info.length bytes). */
function readInto(dir: string, info: TensorInfo, target: Uint8Array): void {
  const path = join(dir, info.file);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < info.length) {
      const n = readSync(fd, target, got, info.length - got, info.offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== info.length) throw new ModelError(`${path}: tensor "${info.name}" is truncated (read ${got} of ${info.length} bytes)`);
  } finally {
    closeSync(fd);
  }
}

function readBytes(dir: string, info: TensorInfo): Buffer {
  const buf = Buffer.alloc(info.length);
  readInto(dir, info, buf);
  return buf;
}

/**
 * Reads one tensor as float32 (F32 as is; F16 and BF16 widened exactly; F64 rounded). F32 and BF16 are read straight
 * into the result's memory, BF16 into its upper half and widened in place: each fresh page costs a fault, and at
 * model size (gigabytes) the extra copies cost seconds.
 */
export function readTensor(dir: string, info: TensorInfo): Float32Array {
  const n = info.length / DTYPE_BYTES[info.dtype];
  switch (info.dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      readInto(dir, info, new Uint8Array(out.buffer));
      return out;
    }
    case 'BF16': {
      const out = new Uint32Array(n);
      readInto(dir, info, new Uint8Array(out.buffer, 2 * n, 2 * n));
      const bits = new Uint16Array(out.buffer, 2 * n, n);
      // Element i is written over 16-bit slots 2i and 2i+1, which hold bits already read (indices <= i): safe.
      for (let i = 0; i < n; i++) out[i] = bits[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F64': {
      const buf = readBytes(dir, info);
      return Float32Array.from(new Float64Array(buf.buffer, buf.byteOffset, n));
    }
    case 'F16': {
      const buf = readBytes(dir, info);
      return float16BitsToFloat32(new Uint16Array(buf.buffer, buf.byteOffset, n));
    }
    default:
      throw new ModelError(`${join(dir, info.file)}: tensor "${info.name}" has dtype ${info.dtype}, expected a floating-point tensor`);
  }
}

/** Reads one floating-point tensor as float64 (for references and finite-difference checks). */
export function readTensorF64(dir: string, info: TensorInfo): Float64Array {
  if (info.dtype === 'F64') {
    const buf = readBytes(dir, info);
    return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  return Float64Array.from(readTensor(dir, info));
}

// Node 20 has no Float16Array, so half-precision conversion is done by hand.
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** Round-to-nearest-even float32 -> float16 bits. */
export function float32ToFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32Scratch[0] = values[i];
    const x = u32Scratch[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >> shift;
      const rem = mant & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rem > halfway || (rem === halfway && half & 1)) half++;
      out[i] = sign | half;
    } else {
      let half = (e << 10) | (mant >> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
      out[i] = sign | half;
    }
  }
  return out;
}

/** Round-to-nearest-even float32 -> bfloat16 bits. */
export function float32ToBFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32Scratch[0] = values[i];
    const x = u32Scratch[0];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) {
      out[i] = (x >>> 16) | 0x40; // keep NaN a NaN
      continue;
    }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /**
   * F32: Float32Array; F64: Float64Array; F16/BF16: Uint16Array of raw bits, or a Float32Array to be rounded;
   * integer dtypes: a typed array of the matching width.
   */
  data: Float32Array | Float64Array | Uint16Array | ArrayBufferView;
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  let data = t.data;
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && data instanceof Float32Array) {
    data = t.dtype === 'F16' ? float32ToFloat16Bits(data) : float32ToBFloat16Bits(data);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
  if (bytes.length !== expected) {
    throw new ModelError(`writeSafetensors: tensor "${t.name}" has ${bytes.length} bytes of data but shape ${JSON.stringify(t.shape)} × ${t.dtype} needs ${expected}`);
  }
  return bytes;
}

/** Writes a .safetensors file atomically (a temp file beside it, then rename). Tensors are stored in the given order. */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  if (endianness() !== 'LE') throw new Error('writeSafetensors: big-endian hosts are not supported');
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) throw new ModelError(`writeSafetensors: duplicate tensor name "${t.name}"`);
    const bytes = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // The format allows trailing spaces in the header; padding to 8 bytes keeps the data aligned for typed-array views.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(json.length));

  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, lengthBytes);
    writeSync(fd, json);
    for (const c of chunks) {
      let written = 0;
      while (written < c.length) written += writeSync(fd, c, written, c.length - written);
    }
    closeSync(fd);
    renameSync(temp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(temp, { force: true });
    throw e;
  }
}
