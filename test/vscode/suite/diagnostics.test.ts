import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { agentchordDiagnostics, extensionApi, replaceInDocument, revertAndCloseAll, waitFor, workspaceRoot } from './helpers';

describe('diagnostics', () => {
  afterEach(revertAndCloseAll);

  it('shows an unknown agent at its input entry as you type, and clears when fixed', async () => {
    await extensionApi();
    const uri = vscode.Uri.file(join(workspaceRoot(), 'valid', 'agentchord.yaml'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    await waitFor('the valid system to be validated', () => agentchordDiagnostics(uri).length === 0);

    const typed = await replaceInDocument(doc, 'inputs: [researcher, critic]', 'inputs: [researcher, ghost]');
    assert.ok(doc.isDirty, 'the edit must stay unsaved: validation reads the editor text');
    const [diagnostic] = await waitFor('a diagnostic about ghost', () => {
      const found = agentchordDiagnostics(uri).filter((d) => d.message.includes('ghost'));
      return found.length ? found : undefined;
    });
    assert.ok(doc.isDirty, 'the problem must come from the unsaved text, not from a save');
    const ghostAt = doc.positionAt(doc.getText().indexOf('ghost', doc.offsetAt(typed.start)));
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.deepEqual([diagnostic.range.start.line, diagnostic.range.start.character], [ghostAt.line, ghostAt.character]);
    assert.ok(diagnostic.range.contains(ghostAt.translate(0, 4)), `range ${JSON.stringify(diagnostic.range)} misses 'ghost'`);

    await replaceInDocument(doc, 'inputs: [researcher, ghost]', 'inputs: [researcher, critic]');
    await waitFor('the diagnostics to clear', () => agentchordDiagnostics(uri).length === 0);
  });

  it('reports a cycle at the input entry that closes it, naming the agents', async () => {
    await extensionApi();
    const uri = vscode.Uri.file(join(workspaceRoot(), 'valid', 'agentchord.yaml'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    // researcher now takes input from writer, which already takes input from researcher: a loop.
    await replaceInDocument(doc, 'inputs: [task.question]\n  critic', 'inputs: [writer]\n  critic');
    const diagnostic = await waitFor('a cycle diagnostic', () => agentchordDiagnostics(uri).find((d) => /cycle/i.test(d.message)));
    assert.match(diagnostic.message, /researcher -> writer|writer -> researcher/, 'the message should name the agents of the loop in order');
    // The range is the input entry that closes the loop: an agent name inside an `inputs:` list.
    const line = doc.lineAt(diagnostic.range.start.line).text;
    assert.match(line, /^\s*inputs: \[/, `the cycle should point at an inputs entry, got line '${line}'`);
    const underlined = doc.getText(diagnostic.range);
    assert.ok(['researcher', 'writer'].includes(underlined), `the range should cover an agent name, got '${underlined}'`);

    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('the cycle diagnostic to clear after revert', () => agentchordDiagnostics(uri).length === 0);
  });

  it('re-validates when a referenced prompt file is created or deleted, and clears when the file is closed', async function () {
    this.timeout(90_000);
    await extensionApi();
    const uri = vscode.Uri.file(join(workspaceRoot(), 'broken', 'agentchord.yaml'));
    const prompt = vscode.Uri.file(join(workspaceRoot(), 'broken', 'prompts', 'summarizer.chord.md'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const missing = () => agentchordDiagnostics(uri).find((d) => d.message.includes('summarizer.chord.md'));
    const diagnostic = await waitFor('a missing-prompt diagnostic', missing);
    const promptAt = doc.positionAt(doc.getText().indexOf('prompts/summarizer.chord.md'));
    assert.equal(diagnostic.range.start.line, promptAt.line, 'the problem should point at the prompt: line');

    await vscode.workspace.fs.writeFile(prompt, new TextEncoder().encode('Summarize for {{task.reader}}\n'));
    await waitFor('the diagnostic to clear once the prompt exists', () => agentchordDiagnostics(uri).length === 0);
    await vscode.workspace.fs.delete(prompt);
    await waitFor('the diagnostic to return once the prompt is deleted', missing);

    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await waitFor('the diagnostics to clear when the file is closed', () => agentchordDiagnostics(uri).length === 0, 40_000);
  });

  it('clears the diagnostics of a system file that is deleted', async () => {
    await extensionApi();
    const folder = vscode.Uri.file(join(workspaceRoot(), 'doomed'));
    await vscode.workspace.fs.copy(vscode.Uri.file(join(workspaceRoot(), 'broken')), folder);
    const uri = vscode.Uri.joinPath(folder, 'agentchord.yaml');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    await waitFor('the copy to have diagnostics', () => agentchordDiagnostics(uri).length > 0);
    await vscode.workspace.fs.delete(folder, { recursive: true });
    await waitFor('the diagnostics of the deleted file to clear', () => agentchordDiagnostics(uri).length === 0);
  });
});
