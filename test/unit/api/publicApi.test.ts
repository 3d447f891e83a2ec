// The library API through its public entry point only: a script outside the CLI requires 'agentchord/api' (the
// package's exports, built into dist/ by the test run) and imports, blames and reads a run. Its types are checked
// by the static layer (test/api/consumer.mts against dist/types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../repo';

test("require('agentchord/api'): importTrace, blame, readRun and summarizeRun from a user's script", (t) => {
  if (!existsSync(repoPath('dist/api.js'))) {
    // scripts/test.mjs builds dist/ before any layer runs; a lone run-unit.mjs does not.
    execFileSync(process.execPath, [repoPath('scripts/build.mjs')], { cwd: repoPath() });
  }
  t.diagnostic('consumer: test/api/consumer.cjs');
  const work = mkdtempSync(join(tmpdir(), 'agentchord-api-'));
  const verdicts = join(work, 'verdicts.jsonl');
  writeFileSync(verdicts, JSON.stringify({ traceId: 'b1109f2bbe6bf44889ea650de0bef5ae', loss: 'Wrong about the rain.', score: 0 }) + '\n');
  const stdout = execFileSync(
    process.execPath,
    [repoPath('test/api/consumer.cjs'), repoPath('test/fixtures/traces/genai-openai.otlp.jsonl'), verdicts, repoPath('models/chord-retrieval'), join(work, 'run')],
    { cwd: work, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: join(work, 'cache') }, encoding: 'utf8' },
  );
  const out = JSON.parse(stdout) as { agents: string[]; blame: Array<{ agent: string; share: number }>; trajectories: number; imported: { sources: Array<{ sha256: string }> }; attribution: { model: string; surrogate: boolean } };
  assert.deepEqual(out.agents, ['planner', 'researcher', 'writer']);
  assert.equal(out.blame.find((b) => b.agent === 'writer')?.share, 1, 'the output agent is on every trajectory');
  assert.ok(out.trajectories > 0);
  assert.match(out.imported.sources[0].sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(out.attribution, { model: 'chord-retrieval', strategy: 'max_l1_norm', topK: 1, surrogate: true });
});
