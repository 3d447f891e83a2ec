/**
 * The protocol's LocalModels over the runtime loaded into this process (ONNX Runtime): what the CLI uses.
 * Calls to one model are queued (one at a time), as the backend process does, so concurrent samples never run two
 * ORT sessions of the same model at once on the same threads.
 */
import type { DeviceChoice } from '../protocol/attribution';
import type { LocalModel, LocalModels } from '../protocol/localModel';
import { loadModel } from './runtime/loadModel';
import type { LoadedModel } from './runtime/types';

export interface InProcessModelsOptions {
  /** Compiled-graph cache folder. */
  cacheDir: string;
  log?: (message: string) => void;
  threads?: number;
}

export function inProcessModels(options: InProcessModelsOptions): LocalModels {
  const loaded = new Map<string, Promise<LoadedModel>>();
  const open = new Set<LoadedModel>();
  return {
    async model(dir: string, device: DeviceChoice): Promise<LocalModel> {
      const key = `${dir}\0${device}`;
      let pending = loaded.get(key);
      if (!pending) {
        pending = loadModel(dir, { device, cacheDir: options.cacheDir, log: options.log, threads: options.threads });
        loaded.set(key, pending);
        pending.then((m) => open.add(m), () => loaded.delete(key));
      }
      return wrap(await pending);
    },
    async dispose() {
      for (const m of open) await m.dispose();
      open.clear();
      loaded.clear();
    },
  };
}

const queues = new WeakMap<LoadedModel, Promise<unknown>>();

/** Runs `work` after everything queued on `model` before it. */
function queued<T>(model: LoadedModel, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(model) ?? Promise.resolve();
  const next = previous.then(work, work);
  queues.set(
    model,
    next.catch(() => undefined),
  );
  return next;
}

function wrap(model: LoadedModel): LocalModel {
  const t = model.tokenizer;
  return {
    info: { dir: model.info.dir, vocabSize: model.info.vocabSize, maxPositions: model.info.maxPositions, hasChatTemplate: t.hasChatTemplate },
    encode: async (text, addSpecialTokens) => t.encode(text, { addSpecialTokens }),
    encodeSegments: async (segments, addSpecialTokens) => {
      const { ids, ranges } = t.encodeSegments(segments, { addSpecialTokens });
      return { ids, ranges, pieces: ids.map((id) => t.idToPiece(id)), texts: t.tokenTexts(ids) };
    },
    renderChat: async (messages, addGenerationPrompt) => t.renderChat(messages, { addGenerationPrompt }),
    attribute: (request, signal) =>
      queued(model, async () => {
        signal?.throwIfAborted();
        return model.attribute(request, signal);
      }),
    generate: (promptIds, options, signal) =>
      queued(model, async () => {
        signal?.throwIfAborted();
        return model.generate(promptIds, options, undefined, signal);
      }),
  };
}
