/**
 * The hard budget of an optimization (optimizer.budget / --max-calls --max-tokens --max-cost): every model call
 * goes through a guard that refuses to start once a limit is reached, so the run stops cleanly and can resume.
 * Calls already in flight when the limit is reached still finish (samples run concurrently), so the total can pass
 * a limit by at most the calls in flight.
 */
import type { UsageLedger } from '../llm/usage';
import type { ChatProvider, ChatRequest, ChatResponse, CompleteOptions } from '../llm/types';
import type { Usage } from './types';

export interface BudgetLimits {
  maxCalls?: number;
  maxTokens?: number;
  maxCostUsd?: number;
}

export type Spent = Usage & { calls: number };
export const NOTHING_SPENT: Spent = { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };

export class BudgetExhaustedError extends Error {
  constructor(readonly reason: string) {
    super(`budget exhausted: ${reason}`);
    this.name = 'BudgetExhaustedError';
  }
}

export class Budget {
  /**
   * @param ledger this session's model calls (runForward records agent calls into it; guarded providers with a
   *   `record` label record theirs)
   * @param earlier what earlier sessions of the same run spent (resume)
   */
  constructor(
    readonly limits: BudgetLimits,
    readonly ledger: UsageLedger,
    private readonly earlier: Spent = NOTHING_SPENT,
  ) {}

  spent(): Spent {
    const t = this.ledger.total();
    return {
      calls: this.earlier.calls + t.calls,
      promptTokens: this.earlier.promptTokens + t.promptTokens,
      completionTokens: this.earlier.completionTokens + t.completionTokens,
      costUsd: this.earlier.costUsd + t.costUsd,
    };
  }

  /** Which limit is reached, in words; undefined while there is budget left. */
  exhaustedReason(): string | undefined {
    const s = this.spent();
    const { maxCalls, maxTokens, maxCostUsd } = this.limits;
    if (maxCalls !== undefined && s.calls >= maxCalls) return `${s.calls} model calls made, limit ${maxCalls}`;
    const tokens = s.promptTokens + s.completionTokens;
    if (maxTokens !== undefined && tokens >= maxTokens) return `${tokens} tokens used, limit ${maxTokens}`;
    if (maxCostUsd !== undefined && s.costUsd >= maxCostUsd) return `$${s.costUsd.toFixed(4)} spent, limit $${maxCostUsd}`;
    return undefined;
  }

  check(): void {
    const reason = this.exhaustedReason();
    if (reason) throw new BudgetExhaustedError(reason);
  }

  /**
   * The provider behind a budget check. With `record`, its calls also go into the ledger (for calls runForward does
   * not record itself: the optimizer's and the judge's).
   */
  guard(provider: ChatProvider, record?: { agent: string; model: string; step: () => number | string }): ChatProvider {
    return {
      identity: provider.identity,
      defaultParameters: provider.defaultParameters,
      complete: async (request: ChatRequest, signal?: AbortSignal, options?: CompleteOptions): Promise<ChatResponse> => {
        this.check();
        const response = await provider.complete(request, signal, options);
        if (record) this.ledger.record({ agent: record.agent, step: record.step(), model: record.model, response });
        return response;
      },
    };
  }
}

/** True when `err`, or an error it wraps (ForwardError keeps the cause), is a budget stop. */
export function isBudgetStop(err: unknown): err is Error {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BudgetExhaustedError) return true;
  }
  return false;
}
