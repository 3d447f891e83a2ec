/**
 * How `agentchord serve` finds a model a client names: the server resolves models, never the client's file system.
 * `org/name` or `org/name@revision` is a repository id in the server's model cache (where `agentchord model pull`
 * puts it, src/shared/modelCache.ts); any other single name is a folder under --models-dir. A path (absolute, or with
 * `..`, `.` or `\`) is refused: it names a folder on the client's machine, which means nothing here.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { modelFolder, parseModelRef } from '../../shared/modelCache';
import { InvalidParamsError } from './errors';

export interface ModelNameOptions {
  /** --models-dir: plain names are folders here. */
  modelsDir: string;
  /** The model cache of `agentchord model pull` (repository ids); default modelsDir as well. */
  cacheDir?: string;
}

/** Folder names: what a plain model name may look like (letters, digits, '.', '_', '-'; not '.' or '..'). */
const NAME = /^[A-Za-z0-9_][\w.-]*$/;

export function modelNameResolver(options: ModelNameOptions): (name: string) => string {
  return (name: string) => {
    if (isAbsolute(name) || /^[A-Za-z]:[\\/]/.test(name) || name.startsWith('~')) {
      throw new InvalidParamsError('dir', `the server resolves models by name; ${name} is a client path (name the model as org/name or as a folder under the server's --models-dir)`);
    }
    const ref = name.includes('/') ? parseModelRef(name) : undefined;
    let folder: string;
    if (ref) {
      const cached = modelFolder(ref.repo, ref.revision, options.cacheDir ?? options.modelsDir);
      // A repository copied by hand as <models-dir>/<org>/<name> (no revision folder) is found too.
      const plain = join(options.modelsDir, ...ref.repo.split('/'));
      folder = isModelFolder(cached) || !isModelFolder(plain) ? cached : plain;
    } else if (NAME.test(name) && !name.includes('..')) {
      folder = join(options.modelsDir, name);
    } else {
      throw new InvalidParamsError('dir', `the server resolves models by name; ${JSON.stringify(name)} is neither org/name[@revision] nor a folder name under --models-dir`);
    }
    if (!isModelFolder(folder)) {
      throw new InvalidParamsError('dir', `model '${name}' is not on this server (no config.json in ${folder}); pull it there or copy it under --models-dir`);
    }
    return folder;
  };
}

function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && statSync(dir).isDirectory();
}
