import type { Ctx } from '../ctx';
import { BackendService } from '../backend/backendService';
import { registerBackendStatusBar } from '../backend/statusBar';
import { getRunStore, type RunStore } from '../runs/runStore';
import type { SystemWorkspace } from '../systemWorkspace';
import { registerSetApiKey } from './apiKeys';
import { registerAttributeLastRun } from './attributeLastRun';
import { Jobs } from './job';
import { registerRunCommands } from './optimize';
import { registerPromptContext } from './promptContext';
import { registerRunSummaries } from './results';
import { registerSelectDevice } from './selectDevice';

/** What the commands feature adds to the test API (see ../api.ts). */
export interface CommandsApi {
  /** Run folders of the workspace's systems and the onRunFinished event. */
  runs: RunStore;
  /** The attribution backend process: state, status, pid, restart. */
  backend: BackendService;
  /** Long jobs in flight; `cancelAll()` does what the progress notification's Cancel does. */
  jobs: Jobs;
}

/**
 * Optimize, Run, Attribute Last Run, Set API Key, Select Attribution Device, the backend's lifecycle and status bar
 * item, and the menus' context keys. Heavy engine modules are imported inside the command handlers.
 */
export function registerCommands(ctx: Ctx, systems: SystemWorkspace): CommandsApi {
  const runs = getRunStore(ctx);
  const backend = ctx.own(new BackendService(ctx));
  const jobs = ctx.own(new Jobs(ctx));
  const deps = { ctx, systems, backend, runs, jobs };
  registerBackendStatusBar(ctx, backend);
  registerRunSummaries(ctx);
  registerRunCommands(deps);
  registerAttributeLastRun(deps);
  registerSetApiKey(ctx, systems);
  registerSelectDevice(ctx, backend);
  registerPromptContext(ctx, systems);
  return { runs, backend, jobs };
}
