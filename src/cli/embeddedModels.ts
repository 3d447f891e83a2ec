/**
 * The models shipped in the package's `models/` folder (chord-retrieval, stories260k), found from the running file
 * (dist/cli.js, or a test bundle) upwards, then from the current folder upwards (a checkout).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function embeddedModelDir(name: 'chord-retrieval' | 'stories260k'): string | undefined {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const candidate = join(dir, 'models', name);
      if (existsSync(join(candidate, 'config.json'))) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}
