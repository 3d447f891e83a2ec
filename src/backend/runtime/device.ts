/**
 * Device selection: which ONNX Runtime execution provider the backend uses.
 * A provider counts as usable only if ORT really creates a session with it on a tiny probe graph (an Add node):
 * listing a provider proves nothing (the CUDA provider is listed but its libraries may be missing).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { writeFileAtomic } from '../../shared/atomicWrite';
import type { Device, DeviceChoice } from '../../protocol/attribution';
import { providerLibraryStamp } from './gpu/ortPackage';

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

/** The probe's verdict for one device (`agentchord gpu status`): undefined when it works, else the first line of why. */
export async function probeDevice(device: Device): Promise<string | undefined> {
  try {
    await probe(device);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // ORT messages can span many lines; the first one names the cause.
  return text.split('\n')[0].trim();
}

/**
 * Failed GPU probes of 'auto', remembered for a day in the cache folder. Probing is not free (WebGPU initialises Dawn,
 * which also prints a Vulkan warning straight to stderr from native code), and every `agentchord attribute` run would
 * pay for it again. The key covers what can make a GPU appear: the ORT build, the host, the library paths and the
 * provider libraries next to ORT (`agentchord gpu install` links them); a forced device (`--device cuda`) is always
 * probed.
 */
const PROBE_MEMORY_MS = 24 * 3600 * 1000;
const PROBE_FILE = 'device-probe.json';

interface ProbeMemory {
  key: string;
  at: number;
  failed: Record<string, string>;
}

function probeKey(): string {
  return JSON.stringify([ort.env.versions?.node, hostname(), process.env.LD_LIBRARY_PATH ?? '', process.env.CUDA_VISIBLE_DEVICES ?? '', providerLibraryStamp()]);
}

function readProbeMemory(cacheDir: string | undefined): Record<string, string> {
  if (!cacheDir) return {};
  try {
    const memory = JSON.parse(readFileSync(join(cacheDir, PROBE_FILE), 'utf8')) as ProbeMemory;
    return memory.key === probeKey() && Date.now() - memory.at < PROBE_MEMORY_MS ? memory.failed : {};
  } catch {
    return {};
  }
}

async function writeProbeMemory(cacheDir: string | undefined, failed: Record<string, string>): Promise<void> {
  if (!cacheDir) return;
  try {
    await writeFileAtomic(join(cacheDir, PROBE_FILE), JSON.stringify({ key: probeKey(), at: Date.now(), failed } satisfies ProbeMemory), { createDirs: true });
  } catch {
    // A read-only cache only costs a probe next time.
  }
}

/**
 * Picks the device. 'auto' tries CUDA, then WebGPU, then CPU, and logs why each GPU was skipped.
 * A forced device that does not work is an error (the user asked for it explicitly).
 * With a cacheDir, GPU probes that failed are remembered (see PROBE_MEMORY_MS).
 */
export async function selectDevice(
  choice: DeviceChoice,
  log: (message: string) => void = () => {},
  options: { cacheDir?: string } = {},
): Promise<DeviceSelection> {
  if (choice !== 'auto') {
    try {
      await probe(choice);
    } catch (err) {
      throw new DeviceUnavailableError(`device '${choice}' is not usable: ${messageOf(err)}`);
    }
    return { device: choice, providers: providersFor(choice) };
  }
  const remembered = readProbeMemory(options.cacheDir);
  const failed: Record<string, string> = {};
  const skipped: string[] = [];
  for (const device of AUTO_ORDER) {
    let why = remembered[device];
    if (why === undefined) {
      try {
        await probe(device);
      } catch (err) {
        why = messageOf(err);
      }
    }
    if (why !== undefined) {
      log(`device auto: not using ${device}: ${why}${remembered[device] !== undefined ? ' (remembered from an earlier probe)' : ''}`);
      skipped.push(`${device}: ${why}`);
      failed[device] = why;
      continue;
    }
    if (Object.keys(failed).some((d) => remembered[d] === undefined)) await writeProbeMemory(options.cacheDir, failed);
    log(`device auto: using ${device}`);
    return { device, providers: providersFor(device), reason: skipped.length ? skipped.join('; ') : undefined };
  }
  throw new DeviceUnavailableError(`no device is usable (${skipped.join('; ')})`);
}

/** Parses a --device value; undefined if it is not one of auto|cpu|cuda|webgpu. */
export function parseDeviceChoice(value: string): DeviceChoice | undefined {
  return value === 'auto' || value === 'cpu' || value === 'cuda' || value === 'webgpu' ? value : undefined;
}
