/** The package's version, read from its package.json (found from the running bundle upwards: dist/cli.js or a test). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function packageVersion(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        try {
          const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
          if (pkg.name === 'agentchord' && typeof pkg.version === 'string') return pkg.version;
        } catch {
          // another package's broken file: keep looking
        }
      }
      if (dirname(dir) === dir) break;
    }
  }
  return 'unknown';
}
