/**
 * Model name (a key of `models:` in agentchord.yaml) -> the ChatProvider agents call: endpoint models through the
 * OpenAI-compatible provider (retries, keys read by name), local models through the backend (LocalProvider), both
 * behind the response cache so a re-run of the same requests costs nothing.
 */
import type { DeviceChoice } from '../../protocol/attribution';
import { CachingProvider, cacheDirFor, ResponseCache } from '../llm/cache';
import { LocalProvider, type LocalGenerator } from '../llm/localProvider';
import { createEndpointProvider, type ApiKeyResolver, type OpenAIProviderOptions } from '../llm/openaiProvider';
import type { ChatProvider } from '../llm/types';
import type { SystemConfig } from '../system/types';
import type { LocalModels } from '../../protocol/localModel';
import { localGenerator } from './localModels';

export type ModelResolver = (modelName: string) => ChatProvider;

export interface ModelResolverOptions {
  /** Key by name (apiKeyEnv): the CLI reads the environment, VS Code its SecretStorage. */
  apiKey: ApiKeyResolver;
  /** Response cache folder. Default `<system dir>/.agentchord/cache`; `false` turns the cache off. */
  cacheDir?: string | false;
  /** Runs `provider: local` models (in this process or in the backend process: the engine does not know which). */
  localModels?: LocalModels;
  /** Or any generator of local-model replies (tests). */
  localGenerator?: LocalGenerator;
  /** Passed to every endpoint provider (time-outs, retry policy, streaming). */
  endpoint?: Omit<OpenAIProviderOptions, 'baseUrl' | 'model' | 'apiKeyEnv' | 'parameters' | 'resolveApiKey'>;
}

/** The generator for local models. */
function generatorOf(options: ModelResolverOptions, system: SystemConfig): LocalGenerator | undefined {
  if (options.localGenerator) return options.localGenerator;
  if (!options.localModels) return undefined;
  const devices: Record<string, DeviceChoice> = {};
  for (const m of Object.values(system.models)) if (m.kind === 'local') devices[m.path] = m.device;
  return localGenerator(options.localModels, devices);
}

/** Providers are built once per model name and shared by all agents and samples. */
export function makeModelResolver(system: SystemConfig, options: ModelResolverOptions): ModelResolver {
  const cache = options.cacheDir === false ? undefined : new ResponseCache(options.cacheDir ?? cacheDirFor(system.dir));
  const generator = generatorOf(options, system);
  const providers = new Map<string, ChatProvider>();
  return (name) => {
    const existing = providers.get(name);
    if (existing) return existing;
    const config = system.models[name];
    if (!config) throw new Error(`${system.file}: model "${name}" is not defined under models`);
    let provider: ChatProvider;
    if (config.kind === 'replay') {
      throw new Error(`${system.file}: model "${name}" is a replay model: it replies from the task, in the forward run only, and cannot be called`);
    } else if (config.kind === 'endpoint') {
      provider = createEndpointProvider(config, { ...options.endpoint, resolveApiKey: options.apiKey });
    } else {
      if (!generator) throw new Error(`${system.file}: model "${name}" is a local model, but no local backend is available to run it`);
      provider = LocalProvider.fromConfig(generator, config);
    }
    if (cache) provider = new CachingProvider(provider, cache);
    providers.set(name, provider);
    return provider;
  };
}
