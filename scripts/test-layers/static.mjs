// Type-check and lint: one "test" each, so a type error or lint error fails `npm test`.
import { spawnSync } from 'node:child_process';

export async function run() {
  let passed = 0;
  let failed = 0;
  for (const [label, cmd, args] of [
    ['typecheck', 'npx', ['tsc', '-p', '.', '--noEmit']],
    ['lint', 'npx', ['eslint', 'src', 'test', 'scripts', 'webview']],
    // The library API's declarations, and a consumer written against 'agentchord/api' type-checked with them.
    ['api types', 'npx', ['tsc', '-p', 'tsconfig.api.json']],
    ['api consumer types', 'npx', ['tsc', '-p', 'test/api/tsconfig.json']],
  ]) {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status === 0) {
      passed++;
      console.log(`ok ${label}`);
    } else {
      failed++;
      console.log(`not ok ${label}`);
    }
  }
  return { passed, failed, skipped: 0 };
}
