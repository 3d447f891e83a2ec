/**
 * What the backend process (server, CLI `attribute`/`generate`) needs from a loaded model.
 * Implemented in ./loadModel.ts over ONNX Runtime graphs built by ../onnx.
 */
import type { AttributionRequest, AttributionResult, DeviceChoice, GenerateOptions, GenerateResult } from '../../protocol/attribution';
import type { LoadedModelInfo } from '../../protocol/backend';
import type { ModelTokenizer } from '../tokenizer/types';

export type { LoadedModelInfo };

export interface LoadModelOptions {
  device: DeviceChoice;
  /** Folder for compiled graphs, keyed by content hash (see ./graphCache.ts). */
  cacheDir: string;
  /** Progress and diagnostics (e.g. why a GPU was not used). */
  log?: (message: string) => void;
  /** Threads for ORT's intra-op pool; default: the machine's cores. */
  threads?: number;
}

export interface LoadedModel {
  readonly info: LoadedModelInfo;
  readonly tokenizer: ModelTokenizer;
  /** log p(targets) and its gradient w.r.t. every tail input embedding, reduced per token and per span. */
  attribute(request: AttributionRequest, signal?: AbortSignal): Promise<AttributionResult>;
  /** Decodes from the given prompt ids; onToken is called for each new token (for streaming). */
  generate(
    promptIds: number[],
    options: GenerateOptions,
    onToken?: (id: number, text: string) => void,
    signal?: AbortSignal,
  ): Promise<GenerateResult>;
  dispose(): Promise<void>;
}
