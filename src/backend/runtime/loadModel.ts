/**
 * LoadedModel over ONNX Runtime: a forward graph with KV cache (prefill, decoding, the attribution prefix) and a
 * gradient graph (S = sum log p(targets) and per-token saliency of the tail), both built by ../model/transformer.ts.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { AttributionRequest, AttributionResult, GenerateOptions, GenerateResult, TokenSaliency } from '../../protocol/attribution';
import { serialize, type Graph } from '../onnx';
import { readModelConfig, type ModelConfig } from '../model/config';
import { readTensorIndex } from '../model/safetensors';
import { buildForwardGraph, buildGradientGraph, type ComputeDtype, type TransformerSpec } from '../model/transformer';
import { loadTokenizer } from '../tokenizer/hfTokenizer';
import type { ModelTokenizer } from '../tokenizer/types';
import { spanConnections, targetRows, validateAttributionRequest } from './attribute';
import { dtypeFor, selectDevice } from './device';
import { emptyKvCache, int64Tensor, presentKvCache, stepFeeds, tensorNumbers, type KvCache } from './feeds';
import { decodeTokens } from './generate';
import { cachedGraph, modelDirIdentity } from './graphCache';
import type { LoadedModel, LoadedModelInfo, LoadModelOptions } from './types';

/** Bump when the graph builders change, so cached graphs are rebuilt. */
const GRAPH_VERSION = 6;

/** Options for tests and benchmarks, beyond what the server passes. */
export interface LoadModelExtras {
  /** Compute precision; default float32 on CPU, float16 on GPU. float64 is for finite-difference tests. */
  dtype?: ComputeDtype;
  /** Also output ||dS/de||_2 per token (TokenSaliency.l2), for comparisons with saliency references. */
  saliencyL2?: boolean;
  /** Use this tokenizer instead of loading the model folder's. */
  tokenizer?: ModelTokenizer;
}

export type TokenSaliencyWithL2 = TokenSaliency & { l2?: number };

export async function loadModel(dir: string, options: LoadModelOptions & LoadModelExtras): Promise<LoadedModel> {
  const modelDir = resolve(dir);
  const log = options.log ?? (() => {});
  const config = readModelConfig(modelDir);
  const tensors = readTensorIndex(modelDir);
  const { device, providers } = await selectDevice(options.device, log, { cacheDir: options.cacheDir });
  const dtype = options.dtype ?? dtypeFor(device);
  const spec: TransformerSpec = { config, tensors, dtype };
  const tokenizer = options.tokenizer ?? (await loadTokenizer(modelDir));
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers,
    // ORT's fusions (e.g. x*sigmoid(x) -> QuickGelu) create float-only contrib ops: float64 (tests) stays at 'basic'.
    graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all',
    intraOpNumThreads: options.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Every run has new shapes (T, P), so ORT's memory pattern (planned from the previous run's shapes) rarely
    // applies and only holds a second set of buffers: off, -180 MiB peak RSS on the attribution benchmark.
    enableMemPattern: false,
    extra: {
      session: {
        // The graphs point into the model folder's safetensors files (external data, relative names).
        model_external_initializers_file_folder_path: modelDir,
        // Prepacking copies every weight into MLAS's GEMM layout (a second copy of the model in RAM, and slower
        // session creation); packing per call costs O(K*N) against the GEMM's O(M*K*N) for M in the hundreds.
        // Measured: -100 to -250 MiB peak RSS, same compute time.
        disable_prepacking: '1',
        // Idle intra-op threads sleep instead of spinning between the graph's many small ops: on a shared
        // machine spinning burnt ~30% more CPU for the same work (the PyTorch reference runs with
        // OMP_WAIT_POLICY=PASSIVE for the same reason).
        'intra_op.allow_spinning': '0',
      },
    },
  };
  const identity = modelDirIdentity(modelDir);
  const session = async (kind: string, build: () => Graph) => {
    const path = cachedGraph(options.cacheDir, [GRAPH_VERSION, kind, identity, dtype, device], () => serialize(build()));
    log(`loading ${kind} graph ${path}`);
    return ort.InferenceSession.create(readFileSync(path), sessionOptions);
  };
  const forward = await session('forward', () => buildForwardGraph(spec));
  const info: LoadedModelInfo = {
    dir: modelDir,
    modelType: config.modelType,
    device,
    // float64 is a test-only precision; LoadedModelInfo does not list it.
    dtype: dtype as LoadedModelInfo['dtype'],
    vocabSize: config.vocabSize,
    numLayers: config.numLayers,
    hiddenSize: config.hiddenSize,
    maxPositions: config.maxPositions,
  };
  return new OrtModel(info, tokenizer, config, dtype, forward, () => session(options.saliencyL2 ? 'gradient+l2' : 'gradient', () => buildGradientGraph(spec, { saliencyL2: options.saliencyL2 })));
}

class OrtModel implements LoadedModel {
  private gradient?: Promise<ort.InferenceSession>;

  constructor(
    readonly info: LoadedModelInfo,
    readonly tokenizer: ModelTokenizer,
    private readonly config: ModelConfig,
    private readonly dtype: ComputeDtype,
    private readonly forward: ort.InferenceSession,
    private readonly makeGradient: () => Promise<ort.InferenceSession>,
  ) {}

  /** Runs the forward graph on ids after the cache; returns the last position's logits and the extended cache. */
  private async runForward(ids: number[], cache: KvCache): Promise<{ logits: Float64Array; cache: KvCache }> {
    const out = await this.forward.run(stepFeeds(this.config, this.dtype, ids, cache));
    return { logits: tensorNumbers(out.logits), cache: presentKvCache(this.config, out) };
  }

  async attribute(request: AttributionRequest, signal?: AbortSignal): Promise<AttributionResult> {
    validateAttributionRequest(request, this.config.vocabSize, this.config.maxPositions);
    signal?.throwIfAborted();
    const { inputIds, prefixLength: p } = request;
    let cache = emptyKvCache(this.config, this.dtype);
    if (p > 0) ({ cache } = await this.runForward(inputIds.slice(0, p), cache));
    signal?.throwIfAborted();
    const targets = targetRows(request);
    // Created on first use (generation alone never needs it); a failed creation is retried next time.
    this.gradient ??= this.makeGradient().catch((err) => {
      this.gradient = undefined;
      throw err;
    });
    const gradient = await this.gradient;
    const feeds = stepFeeds(this.config, this.dtype, inputIds.slice(p), cache);
    feeds.target_rows = int64Tensor(targets.rows);
    feeds.target_ids = int64Tensor(targets.ids);
    const out = await gradient.run(feeds);
    signal?.throwIfAborted();
    const logProb = tensorNumbers(out.log_prob)[0];
    const l1 = tensorNumbers(out.l1);
    const gradInput = tensorNumbers(out.grad_input);
    const l2 = out.grad_l2 ? tensorNumbers(out.grad_l2) : undefined;
    const tokens: TokenSaliencyWithL2[] = Array.from(l1, (v, i) => (l2 ? { l1: v, gradInput: gradInput[i], l2: l2[i] } : { l1: v, gradInput: gradInput[i] }));
    return { logProb, tokens, connections: spanConnections(request, tokens) };
  }

  async generate(promptIds: number[], options: GenerateOptions, onToken?: (id: number, text: string) => void, signal?: AbortSignal): Promise<GenerateResult> {
    let cache = emptyKvCache(this.config, this.dtype);
    const step = async (ids: number[]) => {
      const r = await this.runForward(ids, cache);
      cache = r.cache;
      return r.logits;
    };
    // A continuation is decoded after the end of its prompt: SentencePiece decoders strip the space of a text's
    // first piece ("▁a" -> "a"), so decoding the new ids alone gives a text that re-encodes to other ids than the
    // model produced (and attribution would teacher-force the wrong tokens). Decode them after the prompt's last
    // tokens and cut those off (what transformers' pipelines do with the whole prompt).
    const tail = promptIds.slice(-8);
    const tailText = this.tokenizer.decode(tail, { skipSpecialTokens: true });
    const ctx = {
      decode: (ids: number[]) => {
        const full = this.tokenizer.decode([...tail, ...ids], { skipSpecialTokens: true });
        return full.startsWith(tailText) ? full.slice(tailText.length) : this.tokenizer.decode(ids, { skipSpecialTokens: true });
      },
      eosIds: [...new Set([...this.tokenizer.eosIds, ...this.config.eosTokenIds])],
      vocabSize: this.config.vocabSize,
      maxPositions: this.config.maxPositions,
    };
    return decodeTokens({ prefill: step, step: (id) => step([id]) }, ctx, promptIds, options, onToken, signal);
  }

  async dispose(): Promise<void> {
    await this.forward.release();
    if (this.gradient) await (await this.gradient).release();
  }
}
