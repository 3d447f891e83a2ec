// Entry point of the VS Code extension, and its composition root: a thin layer over src/core. Every service is
// created here and owned by `Ctx`, and every command is registered here from one table (ids in ./commandIds.ts).
import * as vscode from 'vscode';
import type { DeviceChoice } from '../protocol/attribution';
import type { AgentChordApi } from './api';
import { BackendService } from './backend/backendService';
import { registerBackendStatusBar, showBackendStatus } from './backend/statusBar';
import { registerCodeLens, showAgentTrajectories } from './codelens/promptLens';
import { COMMANDS, type CommandId } from './commandIds';
import { setApiKey, type SetApiKeyArgs } from './commands/apiKeys';
import { attributeLastRunCommand } from './commands/attributeLastRun';
import { importTraceCommand, type ImportTraceArgs } from './commands/importTrace';
import { blameRunCommand, type BlameRunArgs } from './commands/blameRun';
import { downloadModelCommand, type DownloadModelArgs } from './commands/downloadModel';
import { installGpuRuntime, showGpuStatus, type InstallGpuRuntimeArgs } from './commands/gpuRuntime';
import { Jobs } from './commands/job';
import { optimizeCommand, runArgs, runCommand, type CommandDeps, type RunArgs } from './commands/optimize';
import { registerPromptContext } from './commands/promptContext';
import { registerRunSummaries } from './commands/results';
import { selectDevice } from './commands/selectDevice';
import { Ctx } from './ctx';
import { SystemDiagnostics } from './diagnostics';
import { graphProbe, openGraph, registerGraphPanels, type OpenGraphArgument } from './graph';
import { newSystem, type NewSystemArgs } from './newSystem';
import { lastProposalEdit, registerReviewDocuments, reviewProposal, reviewProposalCommand, type ReviewProposalArgs } from './review/proposalReview';
import { RunStore } from './runs/runStore';
import type { ShowCallInputArgs } from './pure/saliency/commands';
import { chooseGranularity, registerSaliency, type ShowTokenSaliencyArgs } from './saliency/register';
import type { Granularity } from './pure/saliency/aggregate';
import { SystemsTreeProvider } from './systemsView';
import { SystemWorkspace } from './systemWorkspace';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): AgentChordApi {
  const c = (ctx = new Ctx(context));
  context.subscriptions.push(c);

  // Services.
  const systems = c.own(new SystemWorkspace(c));
  const runs = c.own(new RunStore(c));
  const backend = c.own(new BackendService(c));
  const jobs = c.own(new Jobs(c));
  const diagnostics = c.own(new SystemDiagnostics(c, systems));
  const systemsView = c.own(new SystemsTreeProvider(c, systems));
  systems.watch();

  // Views, providers, the status bar item and context keys.
  registerGraphPanels(c);
  registerBackendStatusBar(c, backend);
  registerRunSummaries(c);
  registerPromptContext(c, systems);
  registerReviewDocuments(c);
  const codeLens = registerCodeLens(c, systems, runs);
  const saliency = registerSaliency(c, systems, runs, backend);

  // Commands: one table, every id of ./commandIds.ts (TypeScript reports a missing one).
  const deps: CommandDeps = { ctx: c, systems, backend, runs, jobs };
  const commands = {
    [COMMANDS.newSystem]: (args?: NewSystemArgs) => newSystem(c, args),
    [COMMANDS.refreshSystems]: () => systems.scan(),
    [COMMANDS.optimize]: (arg?: RunArgs | vscode.Uri) => optimizeCommand(deps, runArgs(arg)),
    [COMMANDS.run]: (arg?: RunArgs | vscode.Uri) => runCommand(deps, runArgs(arg)),
    [COMMANDS.attributeLastRun]: (arg?: { uri?: vscode.Uri | string; runDir?: string } | vscode.Uri) => attributeLastRunCommand(deps, arg),
    [COMMANDS.importTrace]: (arg?: ImportTraceArgs | vscode.Uri) => importTraceCommand(deps, arg),
    [COMMANDS.blameRun]: (arg?: BlameRunArgs | vscode.Uri) => blameRunCommand(deps, arg),
    [COMMANDS.downloadModel]: (arg?: DownloadModelArgs) => downloadModelCommand(deps, arg),
    [COMMANDS.setApiKey]: (args?: SetApiKeyArgs) => setApiKey(c, systems, args),
    [COMMANDS.selectAttributionDevice]: (args?: { device?: DeviceChoice }) => selectDevice(c, backend, args?.device),
    [COMMANDS.showBackendStatus]: () => showBackendStatus(c, backend),
    [COMMANDS.showTokenSaliency]: (arg?: vscode.Uri | ShowTokenSaliencyArgs) => saliency.showTokenSaliency(arg instanceof vscode.Uri ? { uri: arg } : (arg ?? {})),
    [COMMANDS.saliencyGranularity]: (value?: Granularity) => chooseGranularity(value),
    [COMMANDS.clearTokenSaliency]: () => saliency.clearActiveEditor(),
    [COMMANDS.showCallInput]: (args: ShowCallInputArgs) => saliency.showCallInput(args),
    [COMMANDS.reviewProposal]: (args?: ReviewProposalArgs) => reviewProposalCommand(c, systems, runs, args),
    [COMMANDS.showAgentTrajectories]: (args: { runDir: string; agent: string }) => showAgentTrajectories(runs, args.runDir, args.agent),
    [COMMANDS.openGraph]: (arg?: OpenGraphArgument) => openGraph(c, arg),
    [COMMANDS.installGpuRuntime]: (args?: InstallGpuRuntimeArgs) => installGpuRuntime(c, backend, args),
    [COMMANDS.gpuStatus]: () => showGpuStatus(c),
    [COMMANDS.graphProbe]: () => graphProbe(),
  } satisfies Record<CommandId, (...args: never[]) => unknown>;
  for (const [id, handler] of Object.entries(commands)) c.own(vscode.commands.registerCommand(id, handler));

  const ready = systems.scan().catch((err) => c.log.error('scanning the workspace for systems failed', err));
  return { systems, systemsView, diagnostics, ready, runs, backend, jobs, editor: { codeLens, saliency, reviewProposal, lastProposalEdit } };
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
