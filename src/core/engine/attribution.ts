/**
 * Connection weights of one agent call (GBC): how much each input block mattered for what the agent said.
 *
 * The agent's actual output is teacher-forced after the text the agent saw, on the attribution model (a local
 * model): S = log p(output | prompt + blocks), g_i = dS/de_i for every input token embedding, and a block's weight
 * is the mean or max over its tokens of |g_i|_1 or g_i·e_i (system.attribution.strategy). Because the output is
 * given rather than generated, this works for agents that ran on a hosted model too: the attribution model then
 * stands in for it (`surrogate: true`) and the weights say what that model finds important in the same text.
 *
 * The text is rebuilt exactly as the agent saw it (./localModels.ts): the system prompt and the user message
 * with its blocks, rendered with the attribution model's chat template, or as plain text when it has none. It is
 * tokenised in segments so each block's token range is exact; everything before the first block is the prefix
 * (run once without gradients, the prefix trick); the output tokens are the targets. An agent with input format
 * `lines` was sent one plain text (no system message): its prefix is what precedes the first line (for a model
 * without chat template: BOS and any prompt text before `{{input}}`), and each block's range is its whole line.
 */
import type { AttributionRequest, AttributionResult, SpanConnection } from '../../protocol/attribution';
import type { AttributionStrategy, LocalModel as LocalModelConfig, SystemConfig } from '../system/types';
import type { LocalModel, LocalModels } from '../../protocol/localModel';
import { renderPlainChat } from './localModels';
import { attributedOutput } from './blocks';
import type { AgentCall, CallAttribution } from './types';

export interface Attributor {
  attributeCall(call: AgentCall, signal?: AbortSignal): Promise<CallAttribution>;
}

/** The SpanConnection field each strategy reads. */
export const STRATEGY_FIELD: Record<AttributionStrategy, keyof SpanConnection> = {
  mean_l1_norm: 'meanL1',
  max_l1_norm: 'maxL1',
  mean_grad_input: 'meanGradInput',
  max_grad_input: 'maxGradInput',
};

/** What the helpers below read of a system: its attribution model (by name) and strategy. */
export type AttributionSettings = { attribution: { model?: string; strategy: AttributionStrategy } };

/** A call with a single block needs no gradient: that block gets weight 1 (as in the paper). Also without a model. */
export function singleBlockAttribution(call: AgentCall, system: AttributionSettings): CallAttribution | undefined {
  if (call.blocks.length !== 1) return undefined;
  const model = system.attribution.model;
  return {
    callId: call.id,
    status: 'single-block',
    surrogate: model !== undefined && call.model !== model,
    ...(model ? { attributionModel: model } : {}),
    strategy: system.attribution.strategy,
    weights: { [call.blocks[0].id]: 1 },
  };
}

/** No weights, and why. Never invented numbers. */
export function unavailableAttribution(call: AgentCall, system: AttributionSettings, reason: string): CallAttribution {
  const model = system.attribution.model;
  return {
    callId: call.id,
    status: 'unavailable',
    reason,
    surrogate: model !== undefined && call.model !== model,
    ...(model ? { attributionModel: model } : {}),
    strategy: system.attribution.strategy,
    weights: {},
  };
}

/**
 * The attributor of a system, or undefined when it has no attribution model (system.attribution.model) or no local
 * models are given; runForward then records 'unavailable' with the reason. The models run in this process (the CLI)
 * or in the backend process (the extension): the protocol's LocalModels either way.
 */
export function makeAttributor(system: SystemConfig, models: LocalModels | undefined): Attributor | undefined {
  const name = system.attribution.model;
  if (!name || !models) return undefined;
  const config = system.models[name];
  if (!config || config.kind !== 'local') {
    throw new Error(`${system.file}: attribution.model "${name}" must name a model with provider: local`);
  }
  return new GradientAttributor(system, name, config, models);
}

/**
 * The attributor of one local model folder, without a system file (imported runs: `agentchord blame`). `name` is what
 * the run records as the attribution model; every call is a surrogate unless its recorded model has that name.
 */
export function makeModelAttributor(
  model: { name: string; path: string; device?: LocalModelConfig['device'] },
  strategy: AttributionStrategy,
  models: LocalModels,
): Attributor {
  const config: LocalModelConfig = { kind: 'local', name: model.name, path: model.path, device: model.device ?? 'auto', parameters: {}, range: NO_RANGE };
  return new GradientAttributor({ attribution: { model: model.name, strategy } }, model.name, config, models);
}

/** Not from a system file: no place in one. */
const NO_RANGE: LocalModelConfig['range'] = { line: 0, column: 0, endLine: 0, endColumn: 0 };

class GradientAttributor implements Attributor {
  constructor(
    private readonly system: AttributionSettings,
    private readonly modelName: string,
    private readonly config: LocalModelConfig,
    private readonly backend: LocalModels,
  ) {}

  async attributeCall(call: AgentCall, signal?: AbortSignal): Promise<CallAttribution> {
    const single = singleBlockAttribution(call, this.system);
    if (single) return single;
    if (call.blocks.length === 0) return unavailableAttribution(call, this.system, 'the call has no input blocks to weigh');
    try {
      const model = await this.backend.model(this.config.path, this.config.device, signal);
      return await this.attributeWith(model, call, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      return unavailableAttribution(call, this.system, `attribution model "${this.modelName}" failed on call ${call.id} (agent ${call.agent}): ${detail}`);
    }
  }

  private async attributeWith(model: LocalModel, call: AgentCall, signal?: AbortSignal): Promise<CallAttribution> {
    const built = await buildAttributionRequest(model, call, signal);
    if ('unavailable' in built) return unavailableAttribution(call, this.system, built.unavailable);
    const { request, blockSpans, pieces, texts, truncatedPrefixTokens } = built;
    const result: AttributionResult = await model.attribute(request, signal);
    const field = STRATEGY_FIELD[this.system.attribution.strategy];
    const weights: Record<string, number> = {};
    const connections: Record<string, SpanConnection> = {};
    for (const block of call.blocks) {
      const connection = result.connections[block.id];
      // An empty block has no tokens, hence no gradient: it cannot have influenced the output.
      weights[block.id] = connection ? connection[field] : 0;
      if (connection) connections[block.id] = connection;
    }
    for (const block of call.blocks) {
      const span = blockSpans[block.id];
      block.tokenStart = span[0];
      block.tokenEnd = span[1];
    }
    return {
      callId: call.id,
      status: 'ok',
      surrogate: call.model !== this.modelName,
      attributionModel: this.modelName,
      strategy: this.system.attribution.strategy,
      weights,
      connections,
      logProb: result.logProb,
      tokens: {
        pieces: pieces.slice(request.prefixLength),
        texts: texts.slice(request.prefixLength),
        offset: request.prefixLength,
        l1: result.tokens.map((t) => t.l1),
        gradInput: result.tokens.map((t) => t.gradInput),
      },
      ...(truncatedPrefixTokens ? { truncatedPrefixTokens } : {}),
    };
  }
}

/** What the attribution model is asked, with each block's token range (in the request's ids). */
export interface BuiltAttributionRequest {
  request: AttributionRequest;
  /** Block id -> [tokenStart, tokenEnd) in request.inputIds (empty blocks: start == end, not among the spans). */
  blockSpans: Record<string, [number, number]>;
  /** Piece of every id of request.inputIds. */
  pieces: string[];
  /** Decoded text of every id of request.inputIds. */
  texts: string[];
  /** Tokens dropped from the start of the prefix to fit the model's context (0 when none). */
  truncatedPrefixTokens: number;
}

/** Splits `text` once at `marker`. */
function around(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error('the chat template dropped the user message');
  return [text.slice(0, at), text.slice(at + marker.length)];
}

/**
 * The text around the user message: the system prompt (and for a chat template its markup), and what follows the
 * user message up to where the answer starts. Found by rendering with a marker in place of the user message.
 */
async function frame(model: LocalModel, system: string | undefined, signal?: AbortSignal): Promise<{ before: string; after: string; addSpecialTokens: boolean }> {
  const marker = '\u0000AGENTCHORD_USER_MESSAGE\u0000';
  // A call without system message (input format `lines`) was sent its user message alone: rebuild just that.
  const messages = [
    ...(system === undefined ? [] : [{ role: 'system' as const, content: system }]),
    { role: 'user' as const, content: marker },
  ];
  if (model.info.hasChatTemplate) {
    const [before, after] = around(await model.renderChat(messages, true, signal), marker);
    return { before, after, addSpecialTokens: false }; // the template writes its own special tokens
  }
  const [before, after] = around(renderPlainChat(messages), marker);
  return { before, after, addSpecialTokens: true };
}

/**
 * Builds the attribution request of a call: segments [prefix + text before block 1, block 1, between, block 2, ...,
 * text after the last block, output], tokenised with exact ranges. Returns `{ unavailable: reason }` when the call
 * cannot be attributed (empty output, blocks that do not fit the context).
 */
export async function buildAttributionRequest(
  model: LocalModel,
  call: AgentCall,
  signal?: AbortSignal,
): Promise<BuiltAttributionRequest | { unavailable: string }> {
  const output = attributedOutput(call);
  if (!output) return { unavailable: 'the agent produced no output to attribute' };
  const systemPrompt = call.messages.find((m) => m.role === 'system')?.content;
  const { before, after, addSpecialTokens } = await frame(model, systemPrompt, signal);
  const input = call.renderedInput;
  const blocks = [...call.blocks].sort((a, b) => a.charStart - b.charStart);
  const segments: string[] = [];
  let cursor = 0;
  blocks.forEach((block, k) => {
    segments.push((k === 0 ? before : '') + input.slice(cursor, block.charStart));
    segments.push(input.slice(block.charStart, block.charEnd));
    cursor = block.charEnd;
  });
  segments.push(input.slice(cursor) + after);
  segments.push(output);
  const encoded = await model.encodeSegments(segments, addSpecialTokens, signal);
  let ids = encoded.ids;
  let pieces = encoded.pieces;
  let texts = encoded.texts;
  const outputRange = encoded.ranges[segments.length - 1];
  // Targets end with the output (a tokenizer's end-of-text suffix is not something the agent said).
  ids = ids.slice(0, outputRange[1]);
  pieces = pieces.slice(0, outputRange[1]);
  texts = texts.slice(0, outputRange[1]);
  const blockRanges = blocks.map((_, k) => encoded.ranges[2 * k + 1]);
  let prefixLength = blockRanges[0][0];
  let targetStart = outputRange[0];
  let shift = (p: number) => p;

  let truncatedPrefixTokens = 0;
  const excess = ids.length - model.info.maxPositions;
  if (excess > 0) {
    // Only the prefix may lose tokens (from its left, after the special tokens): the blocks and the output must stay.
    const keep = encoded.ranges[0][0];
    if (excess > prefixLength - keep) {
      return {
        unavailable: `the call's text is ${ids.length} tokens, more than the attribution model's context of ${model.info.maxPositions}, and the blocks and output alone do not fit`,
      };
    }
    ids = [...ids.slice(0, keep), ...ids.slice(keep + excess)];
    pieces = [...pieces.slice(0, keep), ...pieces.slice(keep + excess)];
    texts = [...texts.slice(0, keep), ...texts.slice(keep + excess)];
    truncatedPrefixTokens = excess;
    shift = (p: number) => p - excess;
    prefixLength = shift(prefixLength);
    targetStart = shift(targetStart);
  }
  const blockSpans: Record<string, [number, number]> = {};
  blocks.forEach((block, k) => (blockSpans[block.id] = [shift(blockRanges[k][0]), shift(blockRanges[k][1])]));
  const spans = blocks.filter((b) => blockSpans[b.id][1] > blockSpans[b.id][0]).map((b) => ({ id: b.id, start: blockSpans[b.id][0], end: blockSpans[b.id][1] }));
  return { request: { inputIds: ids, prefixLength, targetStart, spans }, blockSpans, pieces, texts, truncatedPrefixTokens };
}
