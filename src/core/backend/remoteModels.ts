/**
 * The backend process (a BackendClient) as the protocol's LocalModels: each model folder is loaded once per device.
 * A backend that resolves models by name (`agentchord serve`, InitializeResult.modelsByName) is sent the model's
 * name rather than this machine's path: see remoteModelName.
 */
import { basename, isAbsolute, relative, sep } from 'node:path';
import type { DeviceChoice } from '../../protocol/attribution';
import type { LocalModel, LocalModels } from '../../protocol/localModel';
import { DEFAULT_REVISION, modelsDir } from '../../shared/modelCache';
import type { BackendClient } from './client';

/**
 * What a name-resolving server is asked for, given the folder the system file names here: a model pulled into the
 * local model cache (<models dir>/<org>/<name>/<revision>) is `org/name` (or `org/name@revision`), any other folder
 * its folder name (the server looks for it under its --models-dir). A name stays as it is.
 */
export function remoteModelName(dir: string, cache: string = modelsDir()): string {
  if (!isAbsolute(dir)) return dir;
  const rel = relative(cache, dir);
  const parts = rel.split(sep);
  if (!rel.startsWith('..') && !isAbsolute(rel) && parts.length === 3) {
    const [org, name, revision] = parts;
    const rev = revision.replaceAll('--', '/');
    return rev === DEFAULT_REVISION ? `${org}/${name}` : `${org}/${name}@${rev}`;
  }
  return basename(dir);
}

export function remoteModels(client: BackendClient): LocalModels {
  const loaded = new Map<string, Promise<LocalModel>>();
  const load = async (dir: string, device: DeviceChoice, signal?: AbortSignal): Promise<LocalModel> => {
    const info0 = await client.start();
    const { modelId, info } = await client.loadModel({ dir: info0.modelsByName ? remoteModelName(dir) : dir, device }, { signal });
    return {
      // The engine knows the model by the folder it asked for, wherever the backend found it.
      info: { dir: info0.modelsByName ? dir : info.dir, vocabSize: info.vocabSize, maxPositions: info.maxPositions, hasChatTemplate: info.tokenizer.hasChatTemplate },
      encode: async (text, addSpecialTokens, s) => (await client.tokenize({ modelId, text, addSpecialTokens }, { signal: s })).ids,
      encodeSegments: async (segments, addSpecialTokens, s) => {
        const r = await client.tokenize({ modelId, segments, addSpecialTokens }, { signal: s });
        if (!r.ranges) throw new Error(`backend tokenize returned no ranges for model ${dir}`);
        // A backend from before texts existed sends pieces only: they stand in (raw spellings, still aligned).
        return { ids: r.ids, ranges: r.ranges, pieces: r.pieces, texts: r.texts ?? r.pieces };
      },
      renderChat: (messages, addGenerationPrompt, s) => client.renderChat({ modelId, messages, addGenerationPrompt }, { signal: s }),
      attribute: (request, s) => client.attribute(modelId, request, { signal: s }),
      generate: (promptIds, options, s) => client.generate({ modelId, promptIds, options }, { signal: s }),
    };
  };
  return {
    model(dir, device, signal) {
      const key = `${dir}\0${device}`;
      let model = loaded.get(key);
      if (!model) {
        model = load(dir, device, signal);
        loaded.set(key, model);
        // A failed load may succeed later (e.g. after a backend restart): do not remember the failure.
        model.catch(() => loaded.delete(key));
      }
      return model;
    },
    // The client belongs to whoever created it (the extension shares one); it is not ours to dispose.
    dispose: async () => {},
  };
}
