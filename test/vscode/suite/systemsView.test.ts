import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { AgentChordApi } from '../../../src/extension/api';
import type { SystemsNode } from '../../../src/extension/systemsView';
import { extensionApi, waitFor, workspaceRoot } from './helpers';

function systemNode(api: AgentChordApi, folder: string): SystemsNode | undefined {
  const file = join(workspaceRoot(), folder, 'agentchord.yaml');
  return api.systemsView.getChildren().find((n) => n.entry.file === file);
}

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

describe('systems view', () => {
  it('lists each system with its agents in run order, the output agent marked', async () => {
    const api = await extensionApi();
    const system = await waitFor('the valid system in the view', () => systemNode(api, 'valid'));
    assert.equal(label(api.systemsView.getTreeItem(system)), 'fixture-valid');

    const agents = api.systemsView.getChildren(system);
    const items = agents.map((a) => api.systemsView.getTreeItem(a));
    assert.deepEqual(items.map(label), ['researcher', 'critic', 'writer']);
    assert.deepEqual(items.map((i) => i.description), ['gpt', 'gpt', 'gpt · output']);
    assert.equal(items[2].contextValue, 'agentchord.agent.output');
    assert.equal(items[0].contextValue, 'agentchord.agent');

    const tooltip = items[1].tooltip;
    assert.ok(tooltip instanceof vscode.MarkdownString);
    assert.match(tooltip.value, /inputs: `researcher`, `task\.question`/);

    // Clicking an agent opens its prompt file.
    assert.equal(items[0].command?.command, 'vscode.open');
    const target = items[0].command?.arguments?.[0] as vscode.Uri;
    assert.equal(target.fsPath, join(workspaceRoot(), 'valid', 'prompts', 'researcher.chord.md'));
  });

  it('shows a system that does not load as an error with no agents', async () => {
    const api = await extensionApi();
    const broken = await waitFor('the broken system in the view', () => systemNode(api, 'broken'));
    const item = api.systemsView.getTreeItem(broken);
    assert.equal(label(item), 'broken');
    assert.match(String(item.description), /\d+ errors?/);
    assert.deepEqual(api.systemsView.getChildren(broken), []);
  });

  it('refreshes when a system file appears or disappears on disk', async () => {
    const api = await extensionApi();
    const copy = vscode.Uri.file(join(workspaceRoot(), 'copy'));
    let changes = 0;
    const listener = api.systemsView.onDidChangeTreeData(() => changes++);
    try {
      await vscode.workspace.fs.copy(vscode.Uri.file(join(workspaceRoot(), 'valid')), copy);
      const added = await waitFor('the copied system in the view', () => systemNode(api, 'copy'));
      await waitFor('the copy to load', () => systemNode(api, 'copy')?.entry.result.system);
      assert.equal(api.systemsView.getChildren(added).length, 3);
      await vscode.workspace.fs.delete(copy, { recursive: true });
      await waitFor('the copy to leave the view', () => !systemNode(api, 'copy'));
      assert.ok(changes >= 2, `expected tree change events, got ${changes}`);
    } finally {
      listener.dispose();
    }
  });

  it('opens in the AgentChord activity-bar container', async () => {
    const api = await extensionApi();
    await vscode.commands.executeCommand('agentchord.systems.focus');
    await waitFor('the Systems view to be visible', () => api.systemsView.view.visible);
    // The offline runner checks the rendered rows in the page and takes a screenshot while the view is up.
    const checkpoint = process.env.AGENTCHORD_UI_CHECKPOINT;
    if (checkpoint) {
      console.log(`${checkpoint} systems-view`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  });
});
