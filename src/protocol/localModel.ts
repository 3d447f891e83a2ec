/**
 * The one interface to a local (white-box) model, used by the engine for connection weights and for agents on
 * `provider: local` models, whoever runs it: the backend process behind JSON-RPC (src/core/backend/remoteModels.ts,
 * what the extension uses, so gradients run off the editor's thread) or the runtime loaded into this process
 * (src/backend/inProcess.ts, what the CLI uses). The engine never knows which.
 */
import type { AttributionRequest, AttributionResult, ChatMessage, DeviceChoice, GenerateOptions, GenerateResult } from './attribution';

export interface LocalModelInfo {
  /** Absolute model folder. */
  dir: string;
  vocabSize: number;
  /** The model's context length. */
  maxPositions: number;
  hasChatTemplate: boolean;
}

/** One loaded local model. */
export interface LocalModel {
  readonly info: LocalModelInfo;
  /** Ids of `text` (with BOS etc. when addSpecialTokens). */
  encode(text: string, addSpecialTokens: boolean, signal?: AbortSignal): Promise<number[]>;
  /**
   * Segments tokenised so that ranges[k] is segment k's exact [start, end) in ids; pieces[i] is the vocabulary's
   * spelling of ids[i], texts[i] the text it decodes to in context (what reports and the editor show).
   */
  encodeSegments(segments: string[], addSpecialTokens: boolean, signal?: AbortSignal): Promise<{ ids: number[]; ranges: Array<[number, number]>; pieces: string[]; texts: string[] }>;
  /** The model's chat template applied to messages (throws when it has none). */
  renderChat(messages: ChatMessage[], addGenerationPrompt: boolean, signal?: AbortSignal): Promise<string>;
  attribute(request: AttributionRequest, signal?: AbortSignal): Promise<AttributionResult>;
  generate(promptIds: number[], options: GenerateOptions, signal?: AbortSignal): Promise<GenerateResult>;
}

/** The local models of a process or of a backend. */
export interface LocalModels {
  /** Loads the model folder once; later calls for the same folder and device return the same model. */
  model(dir: string, device: DeviceChoice, signal?: AbortSignal): Promise<LocalModel>;
  dispose(): Promise<void>;
}
