/**
 * The hard budget of an optimization (optimizer.budget / --max-calls --max-tokens --max-cost): every model call
 * goes through a guard that refuses to start once a limit is reached, so the run stops cleanly and can resume.
 *
 * The call limit is exact: a real request takes its slot just before it is sent (CompleteOptions.beforeRequest, a
 * synchronous check-and-count), so samples running concurrently cannot all pass the same check; answers from the
 * response cache and replay models take no slot. Tokens and cost are known only once a call returns, so calls
 * already in flight when one of those limits is reached still finish: they can pass it by at most those calls.
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
  /** Real requests this session's guards let through (counted when sent, failed ones included). */
  private requests = 0;

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
      // The ledger knows a call once it has returned; the guard from the moment it was sent.
      calls: this.earlier.calls + Math.max(t.calls, this.requests),
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
      announcesRequests: true,
      complete: async (request: ChatRequest, signal?: AbortSignal, options?: CompleteOptions): Promise<ChatResponse> => {
        let counted = false;
        const count = () => {
          options?.beforeRequest?.();
          if (counted) return;
          this.check();
          this.requests++;
          counted = true;
        };
        // A provider that does not announce its requests cannot tell a cache hit apart: every call counts, up front.
        if (!provider.announcesRequests) count();
        const response = await provider.complete(request, signal, { ...options, beforeRequest: count });
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
