// `npm run bench [attribution|generation|all] [-- --repeat N]`: builds the project (the CLI and the generation
// runner are measured from their built bundles), then runs bench/main.ts. See bench/README.md.
import { spawnSync } from 'node:child_process';

const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.warn('bench: the build failed; our side will be reported as not measured where its bundle is missing.');
}
const r = spawnSync(process.execPath, ['bench/lib/runTs.mjs', 'bench/main.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
});
process.exit(r.status ?? 1);
