// `npm test`: builds once, then runs every test layer and prints one summary line.
// Layers live in scripts/test-layers/<name>.mjs and export `run({ ci }) -> { passed, failed, skipped }`.
// Usage: node scripts/test.mjs [--layer <name>]...
import { execFileSync } from 'node:child_process';

const LAYERS = ['static', 'unit', 'grammar', 'vscode', 'ui-e2e'];
const ci = process.env.CI === 'true' || process.env.CI === '1';

const chosen = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--layer') chosen.push(process.argv[++i]);
}
const layers = chosen.length ? chosen : LAYERS;

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });

const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
for (const name of layers) {
  const { run } = await import(`./test-layers/${name}.mjs`);
  console.log(`\n=== ${name} tests ===`);
  let result;
  try {
    result = await run({ ci });
  } catch (err) {
    console.error(`layer ${name} crashed:`, err);
    result = { passed: 0, failed: 1, skipped: 0 };
  }
  rows.push(`${name}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
  for (const k of Object.keys(totals)) totals[k] += result[k];
}
console.log('\n' + rows.join('\n'));
// The plain closing line CI reads.
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
