/**
 * Token saliency of a prompt file's own text for one recorded call of its agent: how much each token of the system
 * prompt mattered for what the agent said in that sample. Unlike the run's connection weights, the prompt is not a
 * prefix here: prefixLength 0 and the prompt's tokens are the one span, so every prompt token gets a gradient.
 * Pure (no `vscode`): runs on any LocalModel (the extension passes remoteModels over the backend process).
 */
import { renderPlainChat } from '../../../core/engine/localModels';
import type { LocalModel } from '../../../protocol/localModel';
import { attributedOutput } from '../../../core/engine/blocks';
import type { AgentCall } from '../../../core/engine/types';
import { parsePromptFile } from '../../../core/prompt';
import type { ChatMessage } from '../../../protocol/attribution';
import type { SalientToken } from './aggregate';
import { alignForward } from './tokenAlign';

export interface PromptSaliency {
  /** Placed on the prompt FILE's text (front matter and unfilled placeholders simply get no tokens). */
  tokens: SalientToken[];
  /** Prompt tokens in the model's text, and how many of them were placed in the file. */
  promptTokens: number;
  logProb: number;
}

/**
 * @param fileText the prompt file as the editor shows it (the document is never modified)
 */
export async function computePromptSaliency(model: LocalModel, call: AgentCall, fileText: string, signal?: AbortSignal): Promise<PromptSaliency> {
  const messages: ChatMessage[] = call.messages
    .filter((m) => m.role === 'system' || m.role === 'user' || m.role === 'assistant' || m.role === 'tool')
    .map((m) => ({ role: m.role as ChatMessage['role'], content: m.content }));
  const system = messages.find((m) => m.role === 'system')?.content;
  if (!system) throw new Error(`call ${call.id} has no system message (its agent's prompt is sent as the input itself)`);
  const output = attributedOutput(call);
  if (!output) throw new Error(`call ${call.id} has no output to attribute`);

  const rendered = model.info.hasChatTemplate ? await model.renderChat(messages, true, signal) : renderPlainChat(messages);
  const at = rendered.indexOf(system);
  if (at < 0) throw new Error(`the model's rendering of call ${call.id} does not contain its system prompt`);
  const segments = [rendered.slice(0, at), system, rendered.slice(at + system.length), output];
  const encoded = await model.encodeSegments(segments, !model.info.hasChatTemplate, signal);
  const [promptStart, promptEnd] = encoded.ranges[1];
  const [targetStart, targetEnd] = encoded.ranges[3];
  const inputIds = encoded.ids.slice(0, targetEnd);
  if (inputIds.length > model.info.maxPositions) {
    throw new Error(`call ${call.id} is ${inputIds.length} tokens with its prompt, more than the attribution model's context of ${model.info.maxPositions}`);
  }
  const result = await model.attribute({ inputIds, prefixLength: 0, targetStart, spans: [{ id: 'prompt', start: promptStart, end: promptEnd }] }, signal);

  const pieces = encoded.texts.slice(promptStart, promptEnd);
  const { bodyOffset } = parsePromptFile(fileText);
  const ranges = alignForward(pieces, fileText, bodyOffset);
  const tokens: SalientToken[] = [];
  ranges.forEach((r, k) => {
    const t = result.tokens[promptStart + k];
    if (r && t) tokens.push({ ...r, l1: t.l1, gradInput: t.gradInput, piece: pieces[k], block: 'prompt' });
  });
  return { tokens, promptTokens: pieces.length, logProb: result.logProb };
}
