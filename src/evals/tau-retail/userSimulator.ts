/**
 * tau-bench's LLM user simulator (strategy `llm`, spec §8): a chat model plays the customer described by the task's
 * instruction. Roles are mirrored in its own message list: the agent's messages are `user` messages, its own lines
 * `assistant` messages. It ends the conversation by writing `###STOP###`.
 */
import type { ChatMessage, ChatParameters, ChatProvider } from '../../core/llm/types';

export const STOP_TOKEN = '###STOP###';

/** The agent greeting the simulator answers first (the agent itself never sees it). */
export const AGENT_GREETING = 'Hi! How can I help you today?';

/** tau-bench's system prompt of the `llm` user strategy. */
export function userSystemPrompt(instruction: string): string {
  return `You are a user interacting with an agent.

Instruction: ${instruction}
Rules:
- Just generate one line at a time to simulate the user's message.
- Do not give away all the instruction at once. Only provide the information that is necessary for the current step.
- Do not hallucinate information that is not provided in the instruction. For example, if the agent asks for the order id but it is not mentioned in the instruction, do not make up an order id, just say you do not remember or have it.
- If the instruction goal is satisified, generate '${STOP_TOKEN}' as a standalone message without anything else to end the conversation.
- Do not repeat the exact instruction in the conversation. Instead, use your own words to convey the same information.
- Try to make the conversation as natural as possible, and stick to the personalities in the instruction.`;
}

export interface UserSimulatorOptions {
  provider: ChatProvider;
  /** The task's instruction: who the user is and what they want. */
  instruction: string;
  /** Most lines the simulator writes (its opening line included); then it stops. Default 30. */
  maxTurns?: number;
  /** Sampling parameters (tau-bench passes none: the provider's defaults). */
  parameters?: ChatParameters;
  signal?: AbortSignal;
}

export class UserSimulator {
  private readonly messages: ChatMessage[];
  private readonly maxTurns: number;
  private turnsTaken = 0;
  private stopped = false;
  private hitLimit = false;

  constructor(private readonly options: UserSimulatorOptions) {
    this.maxTurns = options.maxTurns ?? 30;
    if (!Number.isInteger(this.maxTurns) || this.maxTurns < 1) throw new Error(`user simulator: maxTurns must be a positive integer (got ${options.maxTurns})`);
    this.messages = [
      { role: 'system', content: userSystemPrompt(options.instruction) },
      { role: 'user', content: AGENT_GREETING },
    ];
  }

  /** The user's opening message (the episode's first observation). */
  async start(): Promise<string> {
    if (this.turnsTaken > 0) throw new Error('user simulator: start() was already called');
    return this.generate();
  }

  /** The user's answer to the agent's message. After ###STOP### or the turn limit, it answers ###STOP### without a model call. */
  async reply(agentMessage: string): Promise<string> {
    if (this.turnsTaken === 0) throw new Error('user simulator: call start() before reply()');
    if (this.stopped) return STOP_TOKEN;
    this.messages.push({ role: 'user', content: agentMessage });
    if (this.turnsTaken >= this.maxTurns) {
      this.stopped = true;
      this.hitLimit = true;
      return STOP_TOKEN;
    }
    return this.generate();
  }

  /** True once the user said ###STOP### (or the turn limit made it stop). */
  get done(): boolean {
    return this.stopped;
  }

  /** True when the simulator stopped because of the turn limit, not because the user was satisfied. */
  get stoppedByLimit(): boolean {
    return this.hitLimit;
  }

  /** Lines written by the model so far. */
  get turns(): number {
    return this.turnsTaken;
  }

  /** The simulator's own conversation (system prompt, greeting, mirrored roles). */
  get transcript(): readonly ChatMessage[] {
    return this.messages;
  }

  private async generate(): Promise<string> {
    const response = await this.options.provider.complete({ messages: [...this.messages], parameters: this.options.parameters }, this.options.signal);
    const text = response.message.content;
    this.turnsTaken++;
    this.messages.push({ role: 'assistant', content: text });
    if (text.includes(STOP_TOKEN)) this.stopped = true;
    return text;
  }
}
