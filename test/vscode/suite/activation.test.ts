import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, extensionApi } from './helpers';

describe('activation', () => {
  it('activates by itself in a workspace that contains an agentchord.yaml', async () => {
    const api = await extensionApi();
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
    const files = api.systems.list().map((e) => vscode.workspace.asRelativePath(e.file));
    assert.ok(files.includes('valid/agentchord.yaml'), `systems found: ${files.join(', ')}`);
    assert.ok(files.includes('broken/agentchord.yaml'), `systems found: ${files.join(', ')}`);
  });

  it('registers its commands', async () => {
    await extensionApi();
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['agentchord.newSystem', 'agentchord.refreshSystems']) assert.ok(commands.includes(id), `${id} missing`);
  });

  it('validates in Restricted Mode too (declares limited support for untrusted workspaces)', async () => {
    const api = await extensionApi();
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.equal(ext?.packageJSON.capabilities?.untrustedWorkspaces?.supported, 'limited');
    // The offline runner opens the workspace untrusted, test-electron trusted: both must validate.
    console.log(`    (workspace trusted: ${vscode.workspace.isTrusted})`);
    const broken = api.systems.list().find((e) => vscode.workspace.asRelativePath(e.file) === 'broken/agentchord.yaml');
    assert.ok(broken && broken.result.problems.length > 0, 'the broken fixture should have been validated');
  });
});
