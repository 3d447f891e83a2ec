// The CI recipe in docs/ci/agentchord.yml: valid YAML, and it runs the commands and options the CLI really has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { commands } from '../../../src/cli/commands';
import { repoPath } from '../repo';

test('the GitHub Actions recipe is valid YAML and uses existing commands and options', () => {
  const workflow = parse(readFileSync(repoPath('docs/ci/agentchord.yml'), 'utf8')) as { jobs: Record<string, { steps: Array<{ run?: string }> }> };
  const scripts = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? '')).join('\n');
  const used = [...scripts.matchAll(/agentchord (\w+)((?: [^\n&|;>]*)?)/g)];
  assert.ok(used.some((m) => m[1] === 'validate') && used.some((m) => m[1] === 'optimize'));
  for (const [, name, rest] of used) {
    const command = commands.find((c) => c.name === name);
    assert.ok(command, `agentchord ${name} exists`);
    for (const [flag] of rest.matchAll(/--[\w-]+/g)) assert.ok(command.help.includes(flag), `agentchord ${name} has ${flag}`);
  }
});
