/**
 * Token and cost accounting for a run: every model call is recorded with the agent and step it belongs to, and
 * priced from a table of per-model prices (USD per million tokens) that the config can override or extend.
 * A model with no price costs 0 and is listed as unpriced, so a report can say "cost unknown for X" instead of
 * pretending it was free. Answers from the response cache cost nothing and are counted apart.
 */
import type { ChatResponse } from './types';

export interface ModelPrice {
  /** USD per million prompt tokens. */
  inputPerMillion: number;
  /** USD per million completion tokens. */
  outputPerMillion: number;
}

export type PriceTable = Record<string, ModelPrice>;

/** Published list prices (USD / 1M tokens) of common models; check your provider's page and override in the config. */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  'gpt-3.5-turbo': { inputPerMillion: 0.5, outputPerMillion: 1.5 },
  'o3-mini': { inputPerMillion: 1.1, outputPerMillion: 4.4 },
  'o4-mini': { inputPerMillion: 1.1, outputPerMillion: 4.4 },
};

/**
 * The price of `model`: an exact entry, else the longest entry that is a dash-separated prefix of it, so dated
 * snapshots ("gpt-4o-2024-08-06") find their family and "gpt-4o-mini" is not priced as "gpt-4o".
 */
export function priceFor(model: string, table: PriceTable): ModelPrice | undefined {
  if (table[model]) return table[model];
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (model.startsWith(name + '-') && (!best || name.length > best.length)) best = name;
  }
  return best ? table[best] : undefined;
}

export interface UsageRecord {
  agent: string;
  /** Optimisation step (or any label the engine uses, e.g. 'eval'). */
  step: number | string;
  /** The model as configured (the name prices are looked up by). */
  model: string;
  promptTokens: number;
  completionTokens: number;
  cached: boolean;
  costUsd: number;
  /** No price known for the model: costUsd is 0 but not really free. */
  unpriced: boolean;
}

export interface UsageTotals {
  /** Model calls actually made (cache hits excluded). */
  calls: number;
  cachedCalls: number;
  /** Tokens of the calls actually made. */
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** Models used without a price, sorted. */
  unpricedModels: string[];
}

export class UsageLedger {
  private readonly prices: PriceTable;
  private readonly records: UsageRecord[] = [];

  /** @param overrides prices from the config, by model name; they replace or add to DEFAULT_PRICES. */
  constructor(overrides: PriceTable = {}) {
    this.prices = { ...DEFAULT_PRICES, ...overrides };
  }

  record(entry: { agent: string; step: number | string; model: string; response: Pick<ChatResponse, 'usage' | 'cached'> }): UsageRecord {
    const { agent, step, model, response } = entry;
    const price = priceFor(model, this.prices);
    const { promptTokens, completionTokens } = response.usage;
    const costUsd =
      response.cached || !price ? 0 : (promptTokens * price.inputPerMillion + completionTokens * price.outputPerMillion) / 1_000_000;
    const record: UsageRecord = { agent, step, model, promptTokens, completionTokens, cached: response.cached, costUsd, unpriced: !price };
    this.records.push(record);
    return record;
  }

  all(): readonly UsageRecord[] {
    return this.records;
  }

  /** The whole run. */
  total(): UsageTotals {
    return totalsOf(this.records);
  }

  byAgent(): Map<string, UsageTotals> {
    return this.groupBy((r) => r.agent);
  }

  byStep(): Map<number | string, UsageTotals> {
    return this.groupBy((r) => r.step);
  }

  private groupBy<K>(keyOf: (r: UsageRecord) => K): Map<K, UsageTotals> {
    const groups = new Map<K, UsageRecord[]>();
    for (const r of this.records) {
      const key = keyOf(r);
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    return new Map([...groups].map(([key, records]) => [key, totalsOf(records)]));
  }
}

function totalsOf(records: readonly UsageRecord[]): UsageTotals {
  const totals: UsageTotals = { calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, unpricedModels: [] };
  const unpriced = new Set<string>();
  for (const r of records) {
    if (r.cached) {
      totals.cachedCalls++;
      continue;
    }
    totals.calls++;
    totals.promptTokens += r.promptTokens;
    totals.completionTokens += r.completionTokens;
    totals.costUsd += r.costUsd;
    if (r.unpriced) unpriced.add(r.model);
  }
  totals.unpricedModels = [...unpriced].sort();
  return totals;
}
