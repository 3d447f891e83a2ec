/** Verbal losses: builtins, templates and an optional LLM judge, chosen by `loss:` in agentchord.yaml. */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ChatProvider } from '../llm/types';
import type { SystemConfig } from '../system/types';
import { BUILTIN_METRICS, readBuiltinOptions, runBuiltinMetric, type BuiltinMetric } from './builtins';
import { judgeWithLlm } from './judge';
import { evaluateTemplate, parseLossTemplate, type LossTemplate } from './template';
import { LossError, type LossFunction } from './types';

export * from './types';
export { normalizeText, runBuiltinMetric, BUILTIN_METRICS } from './builtins';
export { parseLossTemplate, evaluateTemplate, fillLossTemplate } from './template';
export { judgeWithLlm, JUDGE_RUBRIC } from './judge';

export interface LossDependencies {
  /** Model name -> provider, for `builtin: llm_judge`. */
  resolveModel?: (name: string) => ChatProvider;
}

/**
 * The loss of a system. `builtin` options: reference, normalize, fields (see ./builtins.ts), template (a loss
 * template that phrases the failure instead of the builtin's own sentence), passScore; `llm_judge` takes model,
 * reference and criteria. Errors name the system file and the option at fault.
 */
export function makeLoss(system: SystemConfig, deps: LossDependencies = {}): LossFunction {
  const config = system.loss;
  const where = `${system.file}: loss`;
  if (!config) throw new LossError(`${system.file}: no "loss:" section; add { builtin: exact_match } or { template: <file> }`);

  if (config.kind === 'template') {
    const template = loadTemplate(resolvePath(system.dir, config.file));
    return { name: `template:${config.file}`, evaluate: async (input) => evaluateTemplate(template, input) };
  }

  const options = config.options ?? {};
  if (config.name === 'llm_judge') {
    const model = options.model;
    if (typeof model !== 'string' || !system.models[model]) {
      throw new LossError(`${where}.options.model must name a model of "models:" for llm_judge`);
    }
    if (!deps.resolveModel) throw new LossError(`${where}: llm_judge needs a model provider, none was given`);
    const provider = deps.resolveModel(model);
    const reference = typeof options.reference === 'string' ? options.reference : undefined;
    const criteria = typeof options.criteria === 'string' ? options.criteria : undefined;
    return { name: 'builtin:llm_judge', evaluate: (input, signal) => judgeWithLlm(provider, input, { reference, criteria }, signal) };
  }

  if (!(BUILTIN_METRICS as readonly string[]).includes(config.name)) {
    throw new LossError(`${where}.builtin: unknown loss "${config.name}"; use one of ${[...BUILTIN_METRICS, 'llm_judge'].join(', ')}`);
  }
  const metric = config.name as BuiltinMetric;
  const builtinOptions = readBuiltinOptions(options, `${where}.options`);
  let template: LossTemplate | undefined;
  if (options.template !== undefined) {
    if (typeof options.template !== 'string') throw new LossError(`${where}.options.template must be a file path`);
    template = { ...loadTemplate(resolvePath(system.dir, options.template)), metric, options: builtinOptions };
  }
  const passScore = typeof options.passScore === 'number' ? options.passScore : 1;
  return {
    name: `builtin:${metric}`,
    evaluate: async (input) => {
      if (template) return evaluateTemplate({ ...template, passScore }, input);
      const result = runBuiltinMetric(metric, input, builtinOptions);
      return result.score >= passScore ? { ...result, loss: '' } : result;
    },
  };
}

function loadTemplate(file: string): LossTemplate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LossError(`${file}: cannot read the loss template (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseLossTemplate(file, text);
}

const resolvePath = (dir: string, p: string) => (isAbsolute(p) ? p : resolve(dir, p));
