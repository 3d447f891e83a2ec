// A real run folder of examples/demo-stories on stories260k (forward, gradients, backward, one proposal), made once
// per test process in a temp workspace. Shared by the editor tests (token alignment, CodeLens summaries, review).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAttributor } from '../../../../src/core/engine/attribution';
import { inProcessModels } from '../../../../src/backend/inProcess';
import { optimize } from '../../../../src/core/engine/loop';
import { makeModelResolver } from '../../../../src/core/engine/models';
import type { RunFolderContents } from '../../../../src/core/engine/runFolder';
import { loadSystemFile, type SystemConfig } from '../../../../src/core/system';
import { repoPath } from '../../repo';

export interface RealRun {
  system: SystemConfig;
  runDir: string;
  contents: RunFolderContents;
}

let made: Promise<RealRun> | undefined;

export function realStoriesRun(): Promise<RealRun> {
  made ??= (async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'agentchord-editor-'));
    const dir = join(workspace, 'demo-stories');
    cpSync(repoPath('examples', 'demo-stories'), dir, { recursive: true });
    const file = join(dir, 'agentchord.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('../../models/stories260k', repoPath('models', 'stories260k')));
    const { system, problems } = loadSystemFile(file);
    if (!system) throw new Error(problems.map((p) => p.message).join('\n'));
    const backend = inProcessModels({ cacheDir: join(workspace, 'graphs') });
    try {
      const result = await optimize({
        system,
        workspaceDir: dir,
        models: makeModelResolver(system, { apiKey: () => undefined, cacheDir: false, localModels: backend }),
        attributor: makeAttributor(system, backend),
        steps: 1,
        batchSize: 2,
        acceptanceTest: false,
      });
      return { system, runDir: result.folder.dir, contents: result.folder.read() };
    } finally {
      await backend.dispose();
    }
  })();
  return made;
}
