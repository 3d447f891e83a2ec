/**
 * Device selection: which ONNX Runtime execution provider the backend uses.
 * A provider counts as usable only if ORT really creates a session with it on a tiny probe graph (an Add node):
 * listing a provider proves nothing (the CUDA provider is listed but its libraries may be missing).
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { Device, DeviceChoice } from '../../protocol/attribution';

export interface DeviceSelection {
  device: Device;
  /** ORT execution provider names, in preference order, to pass as `executionProviders`. */
  providers: string[];
  /** Why a faster device was not used (for 'auto'), e.g. "cuda: libcudart.so.12: cannot open shared object file". */
  reason?: string;
}

/** A device the user asked for (or, for 'auto', every device) cannot run here; the message says why. */
export class DeviceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceUnavailableError';
  }
}

/** The order 'auto' tries. */
const AUTO_ORDER: Device[] = ['cuda', 'webgpu', 'cpu'];

/** Half precision on GPUs (memory and tensor cores); full precision on CPU, where fp16 is slow and imprecise. */
export function dtypeFor(device: Device): 'float32' | 'float16' {
  return device === 'cpu' ? 'float32' : 'float16';
}

/** ORT execution providers for a device; CPU stays as the fallback for ops a GPU provider lacks. */
export function providersFor(device: Device): string[] {
  return device === 'cpu' ? ['cpu'] : [device, 'cpu'];
}

let probeBytes: Uint8Array | undefined;

/** A one-node ONNX model, C = A + B over float[1]: the smallest graph that makes ORT initialise a provider. */
export function probeModel(): Uint8Array {
  if (probeBytes) return probeBytes;
  const floatVector = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'agentchord-device-probe',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'probe',
      node: [{ opType: 'Add', input: ['A', 'B'], output: ['C'], name: 'add' }],
      input: [floatVector('A'), floatVector('B')],
      output: [floatVector('C')],
    },
  };
  probeBytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return probeBytes;
}

/** Creates a session on the probe graph with only this device's provider and runs it once; throws if that fails. */
async function probe(device: Device): Promise<void> {
  const session = await ort.InferenceSession.create(probeModel(), {
    executionProviders: [device],
    logSeverityLevel: 4,
  });
  try {
    const one = new ort.Tensor('float32', new Float32Array([1]), [1]);
    const out = await session.run({ A: one, B: one });
    if ((out.C.data as Float32Array)[0] !== 2) throw new Error('probe graph computed a wrong sum');
  } finally {
    await session.release();
  }
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // ORT messages can span many lines; the first one names the cause.
  return text.split('\n')[0].trim();
}

/**
 * Picks the device. 'auto' tries CUDA, then WebGPU, then CPU, and logs why each GPU was skipped.
 * A forced device that does not work is an error (the user asked for it explicitly).
 */
export async function selectDevice(choice: DeviceChoice, log: (message: string) => void = () => {}): Promise<DeviceSelection> {
  if (choice !== 'auto') {
    try {
      await probe(choice);
    } catch (err) {
      throw new DeviceUnavailableError(`device '${choice}' is not usable: ${messageOf(err)}`);
    }
    return { device: choice, providers: providersFor(choice) };
  }
  const skipped: string[] = [];
  for (const device of AUTO_ORDER) {
    try {
      await probe(device);
    } catch (err) {
      const why = `${device}: ${messageOf(err)}`;
      log(`device auto: not using ${why}`);
      skipped.push(why);
      continue;
    }
    log(`device auto: using ${device}`);
    return { device, providers: providersFor(device), reason: skipped.length ? skipped.join('; ') : undefined };
  }
  throw new DeviceUnavailableError(`no device is usable (${skipped.join('; ')})`);
}

/** Parses a --device value; undefined if it is not one of auto|cpu|cuda|webgpu. */
export function parseDeviceChoice(value: string): DeviceChoice | undefined {
  return value === 'auto' || value === 'cpu' || value === 'cuda' || value === 'webgpu' ? value : undefined;
}
