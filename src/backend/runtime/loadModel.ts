/**
 * LoadedModel over ONNX Runtime. Attribution in float32/float64 runs layer by layer (./layeredAttribution.ts: memory
 * that follows the weights and the call's tail); in float16 (GPUs) through a whole-model gradient graph after a
 * prefix run of the forward graph. Generation uses the forward graph with KV cache. Every piece is created on first
 * use: an attribution-only process never loads the forward graph's copy of the weights, and the reverse.
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
import { LayeredAttribution, type LayeredTuning } from './layeredAttribution';
import { loadTokenizer } from '../tokenizer/hfTokenizer';
import type { ModelTokenizer } from '../tokenizer/types';
import { spanConnections, targetRows, validateAttributionRequest } from './attribute';
import { dtypeFor, selectDevice } from './device';
import { emptyKvCache, int64Tensor, presentKvCache, stepFeeds, tensorNumbers, type KvCache } from './feeds';
import { decodeTokens } from './generate';
import { cachedGraph, modelDirIdentity } from './graphCache';
import type { LoadedModel, LoadedModelInfo, LoadModelOptions } from './types';

/** Bump when the graph builders change, so cached graphs are rebuilt. */
const GRAPH_VERSION = 7;

/** Options for tests and benchmarks, beyond what the server passes. */
export interface LoadModelExtras {
  /** Compute precision; default float32 on CPU, float16 on GPU. float64 is for finite-difference tests. */
  dtype?: ComputeDtype;
  /** Also output ||dS/de||_2 per token (TokenSaliency.l2), for comparisons with saliency references. */
  saliencyL2?: boolean;
  /** Use this tokenizer instead of loading the model folder's. */
  tokenizer?: ModelTokenizer;
  /** Attribution path: layered (default in float32/float64) or the whole-model gradient graph (float16's). */
  attribution?: 'layered' | 'whole';
  /** Chunk sizes of the layered path (tests). */
  layeredTuning?: LayeredTuning;
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
  const layersInWeights = [...tensors.keys()].reduce((most, name) => Math.max(most, 1 + Number(/^model\.layers\.(\d+)\./.exec(name)?.[1] ?? -1)), 0);
  if (layersInWeights > config.numLayers) {
    log(`warning: ${modelDir}: the weights hold ${layersInWeights} layers but config.json's num_hidden_layers is ${config.numLayers}; only the first ${config.numLayers} are used`);
  }
  // Building the forward graph checks every weight's name, shape and dtype against config.json (in milliseconds,
  // without a session): a broken model folder fails here, at load, not at its first use.
  buildForwardGraph(spec);
  const forward = () => session('forward', () => buildForwardGraph(spec));
  const gradient = () => session(options.saliencyL2 ? 'gradient+l2' : 'gradient', () => buildGradientGraph(spec, { saliencyL2: options.saliencyL2 }));
  const useLayered = dtype !== 'float16' && options.attribution !== 'whole';
  const layered = useLayered ? () => LayeredAttribution.create(modelDir, config, tensors, dtype as 'float32' | 'float64', sessionOptions, options.layeredTuning) : undefined;
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
  return new OrtModel(info, tokenizer, config, dtype, { forward, gradient, layered }, options.saliencyL2);
}

/** An attribution whose numbers are not finite. */
export class NonFiniteResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteResultError';
  }
}

function firstNonFinite(values: ArrayLike<number>, what: string): string | undefined {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return `${what} of tail token ${i} is ${values[i]}`;
  return undefined;
}

/** Creates a resource on first use; a failed creation is retried next time. */
class Lazy<T> {
  private value?: Promise<T>;
  constructor(private readonly create: () => Promise<T>) {}
  get(): Promise<T> {
    this.value ??= this.create().catch((err) => {
      this.value = undefined;
      throw err;
    });
    return this.value;
  }
  /** The resource if it was created, without creating it. */
  async created(): Promise<T | undefined> {
    return this.value?.catch(() => undefined);
  }
}


class OrtModel implements LoadedModel {
  private readonly forward: Lazy<ort.InferenceSession>;
  private readonly gradient: Lazy<ort.InferenceSession>;
  private readonly layered?: Lazy<LayeredAttribution>;

  constructor(
    readonly info: LoadedModelInfo,
    readonly tokenizer: ModelTokenizer,
    private readonly config: ModelConfig,
    private readonly dtype: ComputeDtype,
    make: { forward: () => Promise<ort.InferenceSession>; gradient: () => Promise<ort.InferenceSession>; layered?: () => Promise<LayeredAttribution> },
    /** Report ||dS/de||_2 per token too (TokenSaliencyWithL2). */
    private readonly saliencyL2 = false,
  ) {
    this.forward = new Lazy(make.forward);
    this.gradient = new Lazy(make.gradient);
    if (make.layered) this.layered = new Lazy(make.layered);
  }

  /** Runs the forward graph on ids after the cache; returns the last position's logits and the extended cache. */
  private async runForward(ids: number[], cache: KvCache): Promise<{ logits: Float64Array; cache: KvCache }> {
    const out = await (await this.forward.get()).run(stepFeeds(this.config, this.dtype, ids, cache));
    return { logits: tensorNumbers(out.logits), cache: presentKvCache(this.config, out) };
  }

  async attribute(request: AttributionRequest, signal?: AbortSignal): Promise<AttributionResult> {
    validateAttributionRequest(request, this.config.vocabSize, this.config.maxPositions);
    signal?.throwIfAborted();
    const { logProb, l1, gradInput, l2 } = this.layered ? await (await this.layered.get()).attribute(request, signal) : await this.attributeWhole(request, signal);
    signal?.throwIfAborted();
    // NaN or Inf (weights that overflow, a broken checkpoint) must not pass as numbers (JSON would print null).
    const bad = !Number.isFinite(logProb) ? `logProb is ${logProb}` : firstNonFinite(l1, 'L1') ?? firstNonFinite(gradInput, 'gradient·input');
    if (bad) throw new NonFiniteResultError(`attribution produced a non-finite result (${bad}) for a ${request.inputIds.length}-token request: the model's numbers overflow or its weights are damaged`);
    const tokens: TokenSaliencyWithL2[] = Array.from(l1, (v, i) => (this.saliencyL2 && l2 ? { l1: v, gradInput: gradInput[i], l2: l2[i] } : { l1: v, gradInput: gradInput[i] }));
    return { logProb, tokens, connections: spanConnections(request, tokens) };
  }

  /** The float16 path: the prefix through the forward graph, then the whole-model gradient graph on the tail. */
  private async attributeWhole(request: AttributionRequest, signal?: AbortSignal) {
    const { inputIds, prefixLength: p } = request;
    let cache = emptyKvCache(this.config, this.dtype);
    if (p > 0) ({ cache } = await this.runForward(inputIds.slice(0, p), cache));
    signal?.throwIfAborted();
    const targets = targetRows(request);
    const gradient = await this.gradient.get();
    const feeds = stepFeeds(this.config, this.dtype, inputIds.slice(p), cache);
    feeds.target_rows = int64Tensor(targets.rows);
    feeds.target_ids = int64Tensor(targets.ids);
    const out = await gradient.run(feeds);
    return {
      logProb: tensorNumbers(out.log_prob)[0],
      l1: tensorNumbers(out.l1),
      gradInput: tensorNumbers(out.grad_input),
      l2: out.grad_l2 ? tensorNumbers(out.grad_l2) : undefined,
    };
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
    await (await this.forward.created())?.release();
    await (await this.gradient.created())?.release();
    await (await this.layered?.created())?.release();
  }
}
