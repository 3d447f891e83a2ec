/**
 * The models a backend process holds. Loading is idempotent by (folder, device): a second loadModel for the same
 * pair returns the same modelId without loading again, also while the first load is still running.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Device } from '../../protocol/attribution';
import type { LoadedModelSummary } from '../../protocol/backend';
import type { LoadedModel, LoadModelOptions } from '../runtime/types';
import { InvalidParamsError } from './errors';

/** The runtime's loadModel, or a fake in tests. */
export type ModelLoader = (dir: string, options: LoadModelOptions) => Promise<LoadedModel>;

interface Entry {
  modelId: string;
  dir: string;
  device: Device;
  model: Promise<LoadedModel>;
}

/** Same folder and device give the same id in every process, so a client can keep using ids across a restart. */
export function modelIdFor(dir: string, device: Device): string {
  const hash = createHash('sha256').update(`${dir}\0${device}`).digest('hex').slice(0, 10);
  return `${basename(dir)}-${device}-${hash}`;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly loader: ModelLoader,
    private readonly options: { cacheDir: string; log: (message: string) => void },
  ) {}

  /** Loads (or finds) the model in `dir` on `device`. Errors name the `dir` field. */
  async load(dir: string, device: Device): Promise<{ modelId: string; model: LoadedModel }> {
    const absolute = resolve(dir);
    if (!existsSync(absolute) || !statSync(absolute).isDirectory()) throw new InvalidParamsError('dir', `model folder not found: ${absolute}`);
    const canonical = realpathSync(absolute);
    const modelId = modelIdFor(canonical, device);
    let entry = this.entries.get(modelId);
    if (!entry) {
      this.options.log(`loading ${canonical} on ${device}`);
      const model = this.loader(canonical, { device, cacheDir: this.options.cacheDir, log: this.options.log });
      entry = { modelId, dir: canonical, device, model };
      this.entries.set(modelId, entry);
      // A failed load must not stay cached: the next loadModel tries again (the user may have fixed the folder).
      model.catch(() => {
        if (this.entries.get(modelId) === entry) this.entries.delete(modelId);
      });
    }
    return { modelId, model: await entry.model };
  }

  /** The loaded model; an unknown id is a parameter error naming `modelId`. */
  async get(modelId: string): Promise<LoadedModel> {
    const entry = this.entries.get(modelId);
    if (!entry) throw new InvalidParamsError('modelId', `no model '${modelId}' is loaded (call loadModel first)`);
    return entry.model;
  }

  async unload(modelId: string): Promise<boolean> {
    const entry = this.entries.get(modelId);
    if (!entry) return false;
    this.entries.delete(modelId);
    await (await entry.model).dispose();
    return true;
  }

  list(): LoadedModelSummary[] {
    return [...this.entries.values()].map(({ modelId, dir, device }) => ({ modelId, dir, device }));
  }

  async disposeAll(): Promise<void> {
    const ids = [...this.entries.keys()];
    await Promise.allSettled(ids.map((id) => this.unload(id)));
  }
}
