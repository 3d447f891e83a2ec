// Scripts that regenerate shipped data run the same TypeScript the unit tests check: this bundles one module with
// esbuild into a temp folder, loads it, and removes the bundle again.
import * as esbuild from 'esbuild';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');

/** Loads a TypeScript module of the repository (path relative to the repository root). */
export async function loadTsModule(relativePath) {
  const temp = mkdtempSync(join(tmpdir(), 'agentchord-script-'));
  try {
    const outfile = join(temp, `${basename(relativePath, '.ts')}.cjs`);
    await esbuild.build({
      entryPoints: [join(REPO, relativePath)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'warning',
      nodePaths: [join(REPO, 'node_modules')],
    });
    return createRequire(outfile)(outfile);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Writes to a temp name and renames, so a reader never sees half a file. */
export function writeFileReplacing(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
