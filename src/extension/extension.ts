// Entry point of the VS Code extension: a thin layer over src/core. Everything is created here and owned by `Ctx`.
import * as vscode from 'vscode';
import type { AgentChordApi } from './api';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { SystemDiagnostics } from './diagnostics';
import { registerEditorFeatures } from './editorFeatures';
import { registerGraph } from './graph';
import { registerNewSystem } from './newSystem';
import { SystemsTreeProvider } from './systemsView';
import { SystemWorkspace } from './systemWorkspace';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): AgentChordApi {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);

  const systems = ctx.own(new SystemWorkspace(ctx));
  const diagnostics = ctx.own(new SystemDiagnostics(ctx, systems));
  const systemsView = ctx.own(new SystemsTreeProvider(ctx, systems));
  systems.watch();
  registerNewSystem(ctx);
  registerGraph(ctx);
  const commands = registerCommands(ctx, systems);
  const editor = registerEditorFeatures(ctx, systems, commands.backend);
  const owner = ctx;
  owner.own(vscode.commands.registerCommand('agentchord.refreshSystems', () => systems.scan()));

  const ready = systems.scan().catch((err) => owner.log.error('scanning the workspace for systems failed', err));
  return { systems, systemsView, diagnostics, ready, ...commands, ...editor };
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
