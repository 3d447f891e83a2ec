/** Optimizers (LLM rewrite, offline warnings) chosen by `optimizer.kind` in agentchord.yaml. */
import type { ChatProvider } from '../llm/types';
import type { SystemConfig } from '../system/types';
import { makeLlmOptimizer, type LlmOptimizerOptions } from './llm';
import type { Optimizer } from './types';
import { makeWarningsOptimizer } from './warnings';

export * from './types';
export { makeLlmOptimizer, interpretOptimizerReply, buildOptimizerRequest, checkPrompt, OPTIMIZER_INSTRUCTIONS } from './llm';
export { makeWarningsOptimizer, proposeWarnings, addWarnings, failureCases, WARNING_HEADING } from './warnings';

export function makeOptimizer(
  system: SystemConfig,
  deps: { resolveModel?: (name: string) => ChatProvider } & LlmOptimizerOptions = {},
): Optimizer {
  const config = system.optimizer;
  if (config.kind === 'warnings') return makeWarningsOptimizer();
  if (!config.model) throw new Error(`${system.file}: optimizer.model is required for kind: llm`);
  if (!deps.resolveModel) throw new Error(`${system.file}: optimizer kind llm needs a model provider, none was given`);
  return makeLlmOptimizer(deps.resolveModel(config.model), deps);
}
export { planApply, applyChanges, changedSinceProposal, ApplyError, type ApplyPlan, type PlannedChange } from './apply';
