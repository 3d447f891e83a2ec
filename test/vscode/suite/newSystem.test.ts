import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { loadSystemFile } from '../../../src/core/system';
import { scaffoldSystem } from '../../../src/core/system/scaffold';
import { agentchordDiagnostics, extensionApi, revertAndCloseAll, waitFor, workspaceRoot } from './helpers';

// New System writes files, so it runs only in a trusted workspace (commands.test.ts checks that it refuses in
// Restricted Mode); the name puts it in the runner's trusted pass.
if (vscode.workspace.isTrusted) describe('AgentChord commands (trusted workspace): New System command', () => {
  afterEach(revertAndCloseAll);

  it('writes a valid system into the given folder and opens its system file', async () => {
    const api = await extensionApi();
    const created = await vscode.commands.executeCommand<vscode.Uri | undefined>('agentchord.newSystem', {
      folder: 'created/demo',
      name: 'demo',
    });
    const file = join(workspaceRoot(), 'created', 'demo', 'agentchord.yaml');
    assert.equal(created?.fsPath, file);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, file, 'the new system file should be open');

    const loaded = loadSystemFile(file);
    assert.deepEqual(loaded.problems, []);
    assert.equal(loaded.system?.name, 'demo');
    assert.ok((loaded.system?.agents.length ?? 0) >= 2, 'the scaffold should have several agents');

    const entry = await waitFor('the new system to be validated', () => api.systems.get(file));
    await api.systems.settled();
    assert.deepEqual(entry.result.problems, []);
    assert.deepEqual(agentchordDiagnostics(vscode.Uri.file(file)), []);
    await waitFor('the new system in the view', () => api.systemsView.getChildren().some((n) => n.entry.file === file));
  });

  it('refuses to overwrite an existing system and writes nothing', async () => {
    await extensionApi();
    const folder = join(workspaceRoot(), 'valid');
    const before = readFileSync(join(folder, 'agentchord.yaml'), 'utf8');
    const result = await vscode.commands.executeCommand<vscode.Uri | undefined>('agentchord.newSystem', { folder });
    assert.equal(result, undefined);
    assert.equal(readFileSync(join(folder, 'agentchord.yaml'), 'utf8'), before);
  });

  it('refuses when only one of the scaffold files exists, leaving the folder as it was', async () => {
    await extensionApi();
    const folder = join(workspaceRoot(), 'created', 'partial');
    // One file the scaffold would write (not the system file), already there with the user's content.
    const existing = scaffoldSystem({ name: 'partial' }).find((f) => f.path !== 'agentchord.yaml');
    assert.ok(existing, 'the scaffold should write more than the system file');
    mkdirSync(dirname(join(folder, existing.path)), { recursive: true });
    writeFileSync(join(folder, existing.path), 'mine\n');
    const result = await vscode.commands.executeCommand<vscode.Uri | undefined>('agentchord.newSystem', { folder });
    assert.equal(result, undefined);
    assert.equal(readFileSync(join(folder, existing.path), 'utf8'), 'mine\n');
    assert.deepEqual(readdirSync(folder, { recursive: true }).map(String).filter((p) => !statSync(join(folder, p)).isDirectory()), [
      existing.path,
    ]);
  });
});
