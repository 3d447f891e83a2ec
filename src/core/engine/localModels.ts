/**
 * How a local model is prompted (`localGenerator`). A model with a chat template gets its template; a model without one
 * (e.g. the story model stories260k) gets the messages as plain text, each message's content in order separated by a
 * blank line, and simply continues that text (see renderPlainChat). The attribution pass rebuilds exactly the same
 * text, so the weights are about the text the agent really saw. The models come through the protocol's LocalModels,
 * wherever they run.
 */
import type { DeviceChoice } from '../../protocol/attribution';
import type { LocalModels } from '../../protocol/localModel';
import type { LocalGenerator } from '../llm/localProvider';

/**
 * Messages as plain text for a model without a chat template: contents in order, blank line between, one after.
 * A lone user message is a completion prompt (an agent with `input: { format: lines }`, written in the model's own
 * format): it is the text exactly as written, and the model continues right after its last character.
 */
export function renderPlainChat(messages: Array<{ role?: string; content: string | null }>): string {
  if (messages.length === 1 && messages[0].role === 'user') return messages[0].content ?? '';
  return messages.map((m) => m.content ?? '').join('\n\n') + '\n\n';
}

/**
 * LocalGenerator (what LocalProvider needs) over LocalModels: renders the messages (chat template, or
 * plain text when the model has none), keeps the prompt within the context, and generates.
 * @param devices model folder -> device, from the system's `provider: local` models.
 */
export function localGenerator(models: LocalModels, devices: Record<string, DeviceChoice>): LocalGenerator {
  return {
    async generate(modelDir, messages, options, signal) {
      const model = await models.model(modelDir, devices[modelDir] ?? 'auto', signal);
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
