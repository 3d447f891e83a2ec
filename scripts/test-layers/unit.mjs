// Unit tests: node's test runner over the bundled test files in out/test/unit.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

export async function run() {
  const files = find('out/test/unit').sort();
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', '--test-reporter-destination=out/unit.tap', ...files], {
    stdio: 'inherit',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_REPO: process.cwd() },
  });
  const { readFileSync } = await import('node:fs');
  const tap = readFileSync('out/unit.tap', 'utf8');
  const count = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? 0);
  const failed = count('fail') + count('cancelled') + (r.status !== 0 && count('fail') === 0 ? 1 : 0);
  return { passed: count('pass'), failed, skipped: count('skipped') + count('todo') };
}
