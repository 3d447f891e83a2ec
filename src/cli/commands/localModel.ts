/** What `attribute` and `generate` share: the --model/--device/--cache-dir options and loading the model in-process. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { parseOptions } from '../parseOptions';
import * as ort from 'onnxruntime-node';
import type { DeviceChoice } from '../../protocol/attribution';
import { DeviceUnavailableError, parseDeviceChoice } from '../../backend/runtime/device';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { loadModel } from '../../backend/runtime/loadModel';
import { ModelError } from '../../backend/errors';
import type { LoadedModel } from '../../backend/runtime/types';
import { CliError } from '../cliError';
import { modelFolder, parseModelRef } from '../../shared/modelCache';

export const MODEL_OPTIONS_HELP = `  --model <dir>       Hugging Face model folder (config.json, *.safetensors, tokenizer.json), or the repository
                      id of a pulled model (org/name[@revision], see 'agentchord model')
  --device <d>        auto (default: CUDA, then WebGPU, then CPU), cpu, cuda or webgpu
  --cache-dir <dir>   compiled-graph cache (default $AGENTCHORD_CACHE or ~/.cache/agentchord)
  --verbose           log loading steps and the device choice to stderr`;

const modelOptions = {
  model: { type: 'string' },
  device: { type: 'string', default: 'auto' },
  'cache-dir': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

/** The command's options plus the shared model options (--model, --device, --cache-dir, --verbose). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  return parseOptions(command, { args, options: { ...modelOptions, ...options } }).values;
}

/** Loads --model on --device; bad input (folder, files, device) is a CliError naming the option or file. */
export async function loadCliModel(
  command: string,
  values: { model?: string; device?: string; 'cache-dir'?: string; verbose?: boolean },
): Promise<LoadedModel> {
  if (!values.model) throw new CliError(`${command}: --model <dir> is required`);
  let dir = resolve(values.model);
  // Not a folder here but shaped like org/name: the model cache's folder for it (as in agentchord.yaml).
  const ref = existsSync(dir) ? undefined : parseModelRef(values.model);
  if (ref) {
    dir = modelFolder(ref.repo, ref.revision);
    if (!existsSync(dir)) throw new CliError(`${command}: --model: ${values.model} is neither a folder nor a pulled model (${dir}); run: agentchord model pull ${ref.repo}`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${command}: --model: model folder not found: ${dir}`);
  const device: DeviceChoice | undefined = parseDeviceChoice(values.device ?? 'auto');
  if (!device) throw new CliError(`${command}: --device: expected auto, cpu, cuda or webgpu, got '${values.device}'`);
  // ORT's own log repeats, at length, why a GPU provider failed to load; our log says it in one line (--verbose).
  ort.env.logLevel = 'fatal';
  const log = values.verbose ? (message: string) => process.stderr.write(`agentchord: ${message}\n`) : undefined;
  try {
    return await loadModel(dir, { device, cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : defaultCacheDir(), log });
  } catch (err) {
    if (err instanceof ModelError) throw new CliError(`${command}: ${err.message}`);
    if (err instanceof DeviceUnavailableError) throw new CliError(`${command}: --device: ${err.message}`);
    throw err;
  }
}
