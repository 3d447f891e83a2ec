/** `agentchord generate --model <dir> --prompt <text>`: decodes with a local model in-process, streaming the text. */
import type { GenerateOptions } from '../../protocol/attribution';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { loadCliModel, MODEL_OPTIONS_HELP, parseCommandArgs } from './localModel';

const HELP = `Usage: agentchord generate --model <dir> --prompt <text> [--chat] [--max-tokens n] [--temperature x]
                          [--top-p x] [--seed n] [--stop s]... [--device auto|cpu|cuda|webgpu]

Prints the generated text as it is produced.

  --prompt <text>     the prompt (BOS is added as the tokenizer says)
  --chat              send the prompt as a user message through the model's chat template
  --max-tokens <n>    at most n new tokens (default 256)
  --temperature <x>   0 = greedy (default), else sampling temperature
  --top-p <x>         nucleus sampling mass in (0, 1] (default 1)
  --seed <n>          seed for sampling (reproducible output)
  --stop <s>          stop before this text; may be repeated
${MODEL_OPTIONS_HELP}`;

function numberOption(name: string, value: string | undefined, fallback: number, ok: (v: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new CliError(`generate: --${name}: expected ${what}, got '${value}'`);
  return v;
}

/**
 * Streams text but holds back a tail that could still turn out to be the start of a stop string (the runtime cuts
 * the final text before the stop string; what was printed cannot be taken back).
 */
export class StopAwareWriter {
  private received = '';
  private written = 0;

  constructor(
    private readonly stop: string[],
    private readonly write: (text: string) => void,
  ) {}

  push(delta: string): void {
    this.received += delta;
    let safe = this.received.length;
    for (const s of this.stop) {
      for (let k = Math.min(s.length - 1, this.received.length); k > 0; k--) {
        if (this.received.endsWith(s.slice(0, k))) {
          safe = Math.min(safe, this.received.length - k);
          break;
        }
      }
    }
    if (safe > this.written) {
      this.write(this.received.slice(this.written, safe));
      this.written = safe;
    }
  }

  /** Writes what remains of the final text. */
  finish(finalText: string): void {
    const printed = this.received.slice(0, this.written);
    if (finalText.startsWith(printed) && finalText.length > printed.length) this.write(finalText.slice(printed.length));
  }
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text with a local model (streams to stdout)',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const values = parseCommandArgs('generate', args, {
      prompt: { type: 'string' },
      chat: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
    });
    if (values.prompt === undefined) throw new CliError('generate: --prompt <text> is required');
    const options: GenerateOptions = {
      maxTokens: numberOption('max-tokens', values['max-tokens'], 256, (v) => Number.isInteger(v) && v > 0, 'a positive integer'),
      temperature: numberOption('temperature', values.temperature, 0, (v) => v >= 0, 'a number >= 0'),
      topP: numberOption('top-p', values['top-p'], 1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
      stop: values.stop ?? [],
    };
    if (values.seed !== undefined) options.seed = numberOption('seed', values.seed, 0, Number.isInteger, 'an integer');
    if (options.stop.some((s) => s === '')) throw new CliError('generate: --stop: the stop text must not be empty');

    const model = await loadCliModel('generate', values);
    const abort = new AbortController();
    const onInterrupt = () => abort.abort();
    process.once('SIGINT', onInterrupt);
    try {
      let promptIds: number[];
      if (values.chat) {
        if (!model.tokenizer.hasChatTemplate) throw new CliError(`generate: --chat: the model in ${model.info.dir} has no chat template`);
        // The rendered template already holds the special tokens it wants (as transformers' apply_chat_template).
        const text = model.tokenizer.renderChat([{ role: 'user', content: values.prompt }], { addGenerationPrompt: true });
        promptIds = model.tokenizer.encode(text, { addSpecialTokens: false });
      } else {
        promptIds = model.tokenizer.encode(values.prompt, { addSpecialTokens: true });
      }
      const writer = new StopAwareWriter(options.stop, (text) => process.stdout.write(text));
      const result = await model.generate(promptIds, options, (_id, text) => writer.push(text), abort.signal);
      writer.finish(result.text);
      process.stdout.write('\n');
      return 0;
    } finally {
      process.off('SIGINT', onInterrupt);
      await model.dispose();
    }
  },
};
