// Shared by the engine tests: fixture systems copied to a temp folder and pointed at a local OpenAI test server.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import type { RunManifest } from '../../../../src/core/engine/types';
import { loadSystemFile, type SystemConfig } from '../../../../src/core/system';
import type { RecordedRequest } from '../../../support/openaiTestServer';
import { repoPath } from '../../repo';

export interface FixtureSystem {
  system: SystemConfig;
  dir: string;
  cleanup(): void;
}

/** Copies test/fixtures/systems/<name> to a temp folder, sets every endpoint's baseUrl to `baseUrl`, and loads it. */
export function fixtureSystem(name: string, baseUrl: string): FixtureSystem {
  const dir = mkdtempSync(join(tmpdir(), `agentchord-engine-${name}-`));
  cpSync(repoPath('test/fixtures/systems', name), dir, { recursive: true });
  const file = join(dir, 'agentchord.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/baseUrl: .*/g, `baseUrl: ${baseUrl}`));
  const { system, problems } = loadSystemFile(file);
  assert.ok(system, `fixture ${name} must load: ${JSON.stringify(problems)}`);
  return { system, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The manifest of a one-sample run folder in `workspace`, nothing spent yet (tests of the run folder itself). */
export function bareManifest(workspace: string, kind: 'run' | 'optimize', status: RunManifest['status'] = 'running'): Omit<RunManifest, 'id' | 'createdAt'> {
  return {
    systemFile: join(workspace, 'agentchord.yaml'),
    kind,
    status,
    dataset: { split: 'train', file: 'data/train.jsonl', samples: 1 },
    attribution: { strategy: 'mean_l1_norm', topK: 1, surrogate: false },
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  };
}

export function newRun(system: SystemConfig, samples: number): RunFolder {
  return RunFolder.create(system.dir, {
    systemFile: system.file,
    kind: 'run',
    status: 'running',
    dataset: { split: 'train', file: system.datasets.train ?? '', samples },
    attribution: { model: system.attribution.model, strategy: system.attribution.strategy, topK: system.attribution.topK, surrogate: false },
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  });
}

/** The fixture prompts start with `ROLE <agent>.`: which agent sent this request. */
export function roleOf(request: RecordedRequest): string {
  const system = request.body.messages[0].content as string;
  const m = /ROLE (\w+)\./.exec(system);
  assert.ok(m, `no ROLE in system message: ${system}`);
  return m[1];
}

/** The user message of a request (the agent's blocks). */
export function userMessage(request: RecordedRequest): string {
  return request.body.messages.find((m: { role: string }) => m.role === 'user').content as string;
}

/** Every line of a JSONL file parses, and the file ends with a newline (no partial line). */
export function assertWholeJsonl(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${path} ends in the middle of a line`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        assert.fail(`${path}:${i + 1} is not a complete JSON line: ${l.slice(0, 80)}`);
      }
    });
}
