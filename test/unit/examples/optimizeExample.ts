/**
 * An example workspace's system optimized offline in a temp workspace on its embedded local model (what
 * `npm run demo` does), for the demo tests: the result, the prompt files as they were before, and a cleanup.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessModels } from '../../../src/backend/inProcess';
import { makeAttributor } from '../../../src/core/engine/attribution';
import { optimize, type OptimizeOptions } from '../../../src/core/engine/loop';
import { makeModelResolver } from '../../../src/core/engine/models';
import { loadSystemFile } from '../../../src/core/system';
import { repoPath } from '../repo';

export async function optimizeExample(example: string, options: Pick<OptimizeOptions, 'steps' | 'batchSize' | 'acceptanceTest'> = {}) {
  const { system, problems } = loadSystemFile(repoPath('examples', example, 'agentchord.yaml'));
  assert.ok(system, problems.map((p) => p.message).join('\n'));
  const promptsBefore = system.agents.map((a) => readFileSync(a.promptFile, 'utf8'));
  const workspace = mkdtempSync(join(tmpdir(), `agentchord-${example}-`));
  const backend = inProcessModels({ cacheDir: join(workspace, 'graphs') });
  const cleanup = async () => {
    await backend.dispose();
    rmSync(workspace, { recursive: true, force: true });
  };
  try {
    const result = await optimize({
      system,
      workspaceDir: workspace,
      models: makeModelResolver(system, { apiKey: () => undefined, cacheDir: false, localModels: backend }),
      attributor: makeAttributor(system, backend),
      ...options,
    });
    return { system, promptsBefore, workspace, result, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
