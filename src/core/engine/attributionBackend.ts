/**
 * What the engine needs from a local-model backend, for connection weights and for agents on `provider: local`
 * models. Two implementations share the interface:
 *   - clientBackend(BackendClient): the backend process (the extension uses this: gradients off the editor's thread);
 *   - inProcessBackend() in ./inProcessBackend.ts: the runtime loaded into this process (the CLI; tests).
 * Keeping the in-process one in its own file keeps ONNX Runtime out of bundles that only talk to the process.
 *
 * Also here: how a local model is prompted (`localGenerator`). A model with a chat template gets its template; a
 * model without one (e.g. the story model stories260k) gets the messages as plain text, each message's content in
 * order separated by a blank line, and simply continues that text (see renderPlainChat). The attribution pass
 * rebuilds exactly the same text, so the weights are about the text the agent really saw.
 */
import type { AttributionRequest, AttributionResult, ChatMessage, DeviceChoice, GenerateOptions, GenerateResult } from '../../protocol/attribution';
import type { BackendClient } from '../backend/client';
import type { LocalGenerator } from '../llm/localProvider';

export interface AttributionModelInfo {
  /** Absolute model folder. */
  dir: string;
  vocabSize: number;
  /** The model's context length. */
  maxPositions: number;
  hasChatTemplate: boolean;
}

/** One loaded local model. */
export interface AttributionModel {
  readonly info: AttributionModelInfo;
  /** Ids of `text` (with BOS etc. when addSpecialTokens). */
  encode(text: string, addSpecialTokens: boolean, signal?: AbortSignal): Promise<number[]>;
  /** Segments tokenised so that ranges[k] is segment k's exact [start, end) in ids; pieces[i] is the piece of ids[i]. */
  encodeSegments(segments: string[], addSpecialTokens: boolean, signal?: AbortSignal): Promise<{ ids: number[]; ranges: Array<[number, number]>; pieces: string[] }>;
  /** The model's chat template applied to messages (throws when it has none). */
  renderChat(messages: ChatMessage[], addGenerationPrompt: boolean, signal?: AbortSignal): Promise<string>;
  attribute(request: AttributionRequest, signal?: AbortSignal): Promise<AttributionResult>;
  generate(promptIds: number[], options: GenerateOptions, signal?: AbortSignal): Promise<GenerateResult>;
}

export interface AttributionBackend {
  /** Loads the model folder once; later calls for the same folder return the same model. */
  model(dir: string, device: DeviceChoice, signal?: AbortSignal): Promise<AttributionModel>;
  dispose(): Promise<void>;
}

/**
 * Messages as plain text for a model without a chat template: contents in order, blank line between, one after.
 * A lone user message is a completion prompt (an agent with `input: { format: lines }`, written in the model's own
 * format): it is the text exactly as written, and the model continues right after its last character.
 */
export function renderPlainChat(messages: Array<{ role?: string; content: string | null }>): string {
  if (messages.length === 1 && messages[0].role === 'user') return messages[0].content ?? '';
  return messages.map((m) => m.content ?? '').join('\n\n') + '\n\n';
}

/** The backend process behind the engine's interface. */
export function clientBackend(client: BackendClient): AttributionBackend {
  const loaded = new Map<string, Promise<AttributionModel>>();
  const load = async (dir: string, device: DeviceChoice, signal?: AbortSignal): Promise<AttributionModel> => {
    const { modelId, info } = await client.loadModel({ dir, device }, { signal });
    return {
      info: { dir: info.dir, vocabSize: info.vocabSize, maxPositions: info.maxPositions, hasChatTemplate: info.tokenizer.hasChatTemplate },
      encode: async (text, addSpecialTokens, s) => (await client.tokenize({ modelId, text, addSpecialTokens }, { signal: s })).ids,
      encodeSegments: async (segments, addSpecialTokens, s) => {
        const r = await client.tokenize({ modelId, segments, addSpecialTokens }, { signal: s });
        if (!r.ranges) throw new Error(`backend tokenize returned no ranges for model ${dir}`);
        return { ids: r.ids, ranges: r.ranges, pieces: r.pieces };
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

/**
 * LocalGenerator (what LocalProvider needs) over an AttributionBackend: renders the messages (chat template, or
 * plain text when the model has none), keeps the prompt within the context, and generates.
 * @param devices model folder -> device, from the system's `provider: local` models.
 */
export function localGenerator(backend: AttributionBackend, devices: Record<string, DeviceChoice>): LocalGenerator {
  return {
    async generate(modelDir, messages, options, signal) {
      const model = await backend.model(modelDir, devices[modelDir] ?? 'auto', signal);
      const ids = model.info.hasChatTemplate
        ? await model.encode(await model.renderChat(messages, true, signal), false, signal) // the template holds its special tokens
        : await model.encode(renderPlainChat(messages), true, signal);
      const promptIds = keepWithinContext(ids, model.info.maxPositions, options.maxTokens);
      const result = await model.generate(promptIds, options, signal);
      return { ...result, promptTokens: promptIds.length };
    },
  };
}

/**
 * A prompt too long for the context loses tokens from its start (after the first, usually BOS), leaving room for
 * the answer: at least half the context, or maxTokens when that is smaller.
 */
export function keepWithinContext(ids: number[], maxPositions: number, maxTokens: number): number[] {
  const room = Math.min(Math.max(1, maxTokens), Math.floor(maxPositions / 2));
  const limit = maxPositions - room;
  if (ids.length <= limit) return ids;
  return [ids[0], ...ids.slice(ids.length - (limit - 1))];
}
