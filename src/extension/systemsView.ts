import { relative } from 'node:path';
import * as vscode from 'vscode';
import type { AgentConfig, AgentInput } from '../core/system';
import type { Ctx } from './ctx';
import { systemLabel, type SystemEntry, type SystemWorkspace } from './systemWorkspace';

export const SYSTEMS_VIEW_ID = 'agentchord.systems';

/** A row of the Systems view: a system file, or one agent of a system that loaded. */
export type SystemsNode =
  | { kind: 'system'; entry: SystemEntry }
  | { kind: 'agent'; entry: SystemEntry; agent: AgentConfig; isOutput: boolean };

/** The "AgentChord" activity-bar view: each system of the workspace and its agents in run order. */
export class SystemsTreeProvider implements vscode.TreeDataProvider<SystemsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SystemsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<SystemsNode>;

  constructor(
    ctx: Ctx,
    private readonly systems: SystemWorkspace,
  ) {
    ctx.own(systems.onDidChange(() => this.changed.fire(undefined)));
    this.view = ctx.own(vscode.window.createTreeView(SYSTEMS_VIEW_ID, { treeDataProvider: this, showCollapseAll: true }));
  }

  getChildren(node?: SystemsNode): SystemsNode[] {
    if (!node) return this.systems.list().map((entry) => ({ kind: 'system', entry }));
    if (node.kind === 'agent') return [];
    const system = node.entry.result.system;
    if (!system) return [];
    const byName = new Map(system.agents.map((a) => [a.name, a]));
    return system.order.flatMap((name) => {
      const agent = byName.get(name);
      return agent ? [{ kind: 'agent' as const, entry: node.entry, agent, isOutput: name === system.output }] : [];
    });
  }

  getTreeItem(node: SystemsNode): vscode.TreeItem {
    return node.kind === 'system' ? systemItem(node.entry) : agentItem(node);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function systemItem(entry: SystemEntry): vscode.TreeItem {
  const loaded = entry.result.system !== undefined;
  const item = new vscode.TreeItem(
    systemLabel(entry),
    loaded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
  );
  const where = vscode.workspace.asRelativePath(entry.file);
  const errors = entry.result.problems.filter((p) => p.severity === 'error').length;
  item.description = loaded ? where : `${where} — ${errors} ${errors === 1 ? 'error' : 'errors'}`;
  item.tooltip = entry.result.system?.description ?? where;
  item.iconPath = new vscode.ThemeIcon(loaded ? 'type-hierarchy' : 'error', loaded ? undefined : new vscode.ThemeColor('errorForeground'));
  item.contextValue = loaded ? 'agentchord.system' : 'agentchord.system.broken';
  item.resourceUri = vscode.Uri.file(entry.file);
  item.command = { title: 'Open System File', command: 'vscode.open', arguments: [vscode.Uri.file(entry.file)] };
  return item;
}

function agentItem(node: Extract<SystemsNode, { kind: 'agent' }>): vscode.TreeItem {
  const { agent, isOutput, entry } = node;
  const item = new vscode.TreeItem(agent.name, vscode.TreeItemCollapsibleState.None);
  item.description = isOutput ? `${agent.model} · output` : agent.model;
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${agent.name}**${isOutput ? ' (output agent)' : ''}\n\n`);
  if (agent.description) tooltip.appendText(`${agent.description}\n\n`);
  tooltip.appendMarkdown(`model: \`${agent.model}\`\n\n`);
  tooltip.appendMarkdown(`inputs: ${agent.inputs.length ? agent.inputs.map((i) => `\`${inputLabel(i)}\``).join(', ') : '(none)'}\n\n`);
  tooltip.appendMarkdown(`prompt: \`${relative(entry.result.system?.dir ?? '', agent.promptFile)}\``);
  item.tooltip = tooltip;
  item.iconPath = new vscode.ThemeIcon(isOutput ? 'target' : 'hubot');
  item.contextValue = isOutput ? 'agentchord.agent.output' : 'agentchord.agent';
  item.command = { title: 'Open Prompt', command: 'vscode.open', arguments: [vscode.Uri.file(agent.promptFile)] };
  return item;
}

/** How an input is written in the system file: an agent name or `task.<field>`. */
export function inputLabel(input: AgentInput): string {
  return input.kind === 'agent' ? input.agent : `task.${input.field}`;
}
