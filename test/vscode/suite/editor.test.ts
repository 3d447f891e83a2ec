// The editor features on a run folder made for real: examples/demo-stories optimized on stories260k by the CLI
// (dist/cli.js, all local) inside the test workspace. CodeLens on prompt files, token saliency on trace documents
// and on a prompt file, and the optimizer's proposal as a reviewable (and undoable) edit.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { AgentChordApi } from '../../../src/extension/api';
import { RunFolder, type RunFolderContents } from '../../../src/core/engine/runFolder';
import { EXTENSION_ID, extensionApi, replaceInDocument, revertAndCloseAll, waitFor, workspaceRoot } from './helpers';

interface StoriesRun {
  api: AgentChordApi;
  dir: string;
  systemFile: string;
  runDir: string;
  run: RunFolderContents;
  prompt: (agent: string) => string;
}

/** Copies examples/demo-stories into the workspace (model path made absolute) and optimizes it with the CLI. */
async function makeStoriesRun(folder: string): Promise<StoriesRun> {
  const api = await extensionApi();
  const repo = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
  const dir = join(workspaceRoot(), folder);
  cpSync(join(repo, 'examples', 'demo-stories'), dir, { recursive: true });
  const systemFile = join(dir, 'agentchord.yaml');
  writeFileSync(systemFile, readFileSync(systemFile, 'utf8').replace('../../models/stories260k', join(repo, 'models', 'stories260k')));
  const { stdout } = await promisify(execFile)(process.execPath, [join(repo, 'dist', 'cli.js'), 'optimize', systemFile, '--json'], {
    cwd: dir,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const runDir = (JSON.parse(stdout) as { run: string }).run;
  // The file watcher finds the new system too, but late on a busy machine: these tests are about the editor features,
  // not the watcher (the systems-view suite tests that), so look for it at once.
  await api.systems.scan();
  await waitFor('the stories system to load', () => api.systems.get(systemFile)?.result.system, 60_000);
  await waitFor('the run to be listed as finished', () => api.runs.latest(systemFile, true)?.dir === runDir, 60_000);
  return { api, dir, systemFile, runDir, run: RunFolder.open(runDir).read(), prompt: (agent) => join(dir, 'prompts', `${agent}.chord.md`) };
}

async function lensTitlesOf(uri: vscode.Uri): Promise<Array<{ line: number; title: string }>> {
  await vscode.workspace.openTextDocument(uri); // the provider command needs the document loaded
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
  return lenses.filter((l) => l.command?.title.startsWith('AgentChord') || l.command?.command.startsWith('agentchord.')).map((l) => ({ line: l.range.start.line, title: l.command!.title }));
}

/** Polls an asynchronous probe until `done` accepts its value. */
async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('editor: CodeLens, token saliency, reviewable proposals', function () {
  this.timeout(120_000);
  let s: StoriesRun;

  before(async function () {
    this.timeout(120_000);
    s = await makeStoriesRun('editor-stories');
  });

  after(async () => {
    await revertAndCloseAll();
    rmSync(s?.dir ?? join(workspaceRoot(), 'editor-stories'), { recursive: true, force: true });
  });

  it('CodeLens on a prompt file: blame share, strongest connections, loss; stable while typing', async () => {
    const uri = vscode.Uri.file(s.prompt('storyteller'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const lenses = await eventually('the prompt CodeLens', () => lensTitlesOf(uri), (l) => l.length >= 3);
    const titles = lenses.map((l) => l.title);
    const total = s.run.trajectories.length;
    // Short separate lenses: blame, strongest in, (no out: the output agent feeds only the loss), loss.
    assert.equal(titles[0], `blame 100% · ${total}/${total} trajectories`, titles.join(' | '));
    assert.match(titles[1]!, /^in: (reporterA|reporterB|task\.place) \d+%$/, titles.join(' | '));
    const failed = s.run.samples.filter((x) => x.loss).length;
    assert.equal(titles[2], `${failed}/${s.run.samples.length} samples failed`, titles.join(' | '));
    assert.equal(titles.length, 3, titles.join(' | '));
    assert.ok(lenses.every((l) => l.line === 0));
    // The detail is in each lens's tooltip; clicking: the connections focus the agent in the graph, the blame lists
    // its trajectories.
    const raw = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
    const incoming = raw.find((l) => l.command?.title.startsWith('in: '))!;
    assert.equal(incoming.command?.command, 'agentchord.openGraph');
    assert.deepEqual(incoming.command?.arguments?.[0], { systemFile: s.systemFile, runId: s.run.manifest.id, agent: 'storyteller' });
    assert.match(incoming.command?.tooltip ?? '', /^Strongest incoming connection: \S+ → storyteller carries \d+% of its input \(w -?\d/);
    const blame = raw.find((l) => l.command?.title.startsWith('blame '))!;
    assert.deepEqual([blame.command?.command, blame.command?.arguments?.[0]], ['agentchord.showAgentTrajectories', { runDir: s.runDir, agent: 'storyteller' }]);
    assert.match(blame.command?.tooltip ?? '', new RegExp(`storyteller is on ${total} of the latest run's ${total} failing trajectories`));
    const loss = raw.find((l) => l.command?.title.endsWith('samples failed'))!;
    assert.equal(loss.command?.command, 'agentchord.showAgentTrajectories');
    assert.match(loss.command?.tooltip ?? '', /^Latest run: \d+\/\d+ samples failed: /);

    // A reporter's lens shows its own share and its outgoing connection into the storyteller.
    const reporterTitles = (await lensTitlesOf(vscode.Uri.file(s.prompt('reporterB')))).map((l) => l.title);
    assert.ok(reporterTitles.some((t) => /^blame \d+% · \d+\/\d+ trajectories$/.test(t)), reporterTitles.join(' | '));
    assert.ok(reporterTitles.some((t) => /^out: → storyteller \d+%$/.test(t)), reporterTitles.join(' | '));

    // Typing changes nothing: no change event, same lenses, same line.
    let changes = 0;
    const listener = s.api.editor.codeLens.onDidChangeCodeLenses(() => changes++);
    try {
      await replaceInDocument(doc, 'Once upon a time', '\n\nOnce upon a time');
      const after = await lensTitlesOf(uri);
      assert.deepEqual(after, lenses);
      assert.equal(changes, 0);
    } finally {
      listener.dispose();
      await revertAndCloseAll();
    }
  });

  it('the CodeLens refreshes when a run finishes', async () => {
    let changes = 0;
    const listener = s.api.editor.codeLens.onDidChangeCodeLenses(() => changes++);
    try {
      s.api.runs.fireRunFinished(s.runDir);
      await waitFor('a CodeLens change event', () => changes > 0);
    } finally {
      listener.dispose();
    }
  });

  it('Show Call Input opens a read-only trace with saliency colours and hovers; granularity regroups', async () => {
    const attributed = s.run.attribution.find((a) => a.status === 'ok' && a.tokens)!;
    const call = s.run.calls.find((c) => c.id === attributed.callId)!;
    const uri = await vscode.commands.executeCommand<vscode.Uri>('agentchord.showCallInput', { runDir: s.runDir, callId: call.id });
    assert.equal(uri.scheme, 'agentchord-trace');
    const editor = await waitFor('the trace editor', () => vscode.window.activeTextEditor?.document.uri.toString() === uri.toString() && vscode.window.activeTextEditor);
    assert.equal(editor.document.getText(), call.renderedInput);

    const applied = s.api.editor.saliency.decorator.lastApplied.get(uri.toString());
    assert.ok(applied, 'decorations were applied');
    assert.equal(applied.granularity, 'token');
    const all = applied.ranges.flat();
    const blockTokens = call.blocks.reduce((n, b) => n + (b.tokenEnd! - b.tokenStart!), 0);
    assert.ok(all.length >= blockTokens, `${all.length} ranges for ${blockTokens} block tokens`);
    assert.ok(applied.ranges[applied.ranges.length - 1].length > 0, 'the hottest bucket is used');
    // Every token of each block is drawn inside that block.
    for (const b of call.blocks) {
      const inBlock = all.filter((r) => editor.document.offsetAt(r.start) >= b.charStart && editor.document.offsetAt(r.end) <= b.charEnd);
      assert.ok(inBlock.length >= b.tokenEnd! - b.tokenStart! - 1, `${b.id}: ${inBlock.length} ranges`);
    }

    const hot = applied.ranges[applied.ranges.length - 1][0];
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, hot.start);
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /L1 ‖∂S\/∂e‖₁: `\d/);
    assert.match(text, /gradient·input: `-?\d/);
    assert.match(text, /block: `/);

    await vscode.commands.executeCommand('agentchord.saliencyGranularity', 'line');
    try {
      const lines = await waitFor('line granularity', () => {
        const a = s.api.editor.saliency.decorator.lastApplied.get(uri.toString());
        return a?.granularity === 'line' && a;
      });
      assert.ok(lines.ranges.flat().length < all.length);
      assert.ok(lines.ranges.flat().length <= editor.document.lineCount);
    } finally {
      await vscode.commands.executeCommand('agentchord.saliencyGranularity', 'token');
    }
  });

  it('rejecting a proposal leaves the prompt files unchanged', async () => {
    const change = s.run.proposals[0].changes[0];
    const outcome = await s.api.editor.reviewProposal(s.runDir, 0, { mode: 'reject' });
    assert.equal(outcome.status, 'rejected');
    assert.equal(readFileSync(change.file, 'utf8'), change.before);
  });

  it('the proposal opens as a reviewable edit (needs confirmation) with its reasoning beside it; discarding changes nothing', async () => {
    const proposal = s.run.proposals[0];
    const pending = s.api.editor.reviewProposal(s.runDir, 0);
    const built = await waitFor('the proposal edit', () => s.api.editor.lastProposalEdit()?.runDir === s.runDir && s.api.editor.lastProposalEdit());
    assert.equal(built.metadata?.needsConfirmation, true);
    assert.equal(built.metadata?.label, 'AgentChord: step 0');
    assert.ok(built.metadata?.description && proposal.reasoning.startsWith(built.metadata.description.slice(0, 40)));
    assert.deepEqual([...new Set(built.hunks.map((h) => h.file))].sort(), proposal.changes.filter((c) => c.before !== c.after).map((c) => c.file).sort());
    assert.equal(built.edit.size, new Set(built.hunks.map((h) => h.file)).size);
    const explanation = await waitFor('the reasoning beside it', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === built.explanation.toString()));
    assert.ok(explanation.getText().includes(proposal.reasoning.trim()));
    assert.match(explanation.getText(), /## Trajectories that motivated it/);
    // Until the reviewer applies, nothing is written.
    for (const c of proposal.changes) assert.equal(readFileSync(c.file, 'utf8'), c.before);
    await new Promise((r) => setTimeout(r, 1000)); // let the Refactor Preview open before discarding it
    await vscode.commands.executeCommand('refactorPreview.discard');
    const outcome = await pending;
    assert.equal(outcome.status, 'dismissed');
    for (const c of proposal.changes) assert.equal(readFileSync(c.file, 'utf8'), c.before);
    await revertAndCloseAll();
  });

  it('refuses, changing nothing, when a prompt file changed since the proposal', async () => {
    const change = s.run.proposals[0].changes.find((c) => c.before !== c.after)!;
    const edited = change.before + '\nedited by hand\n';
    writeFileSync(change.file, edited);
    try {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === change.file);
      if (open) await waitFor('the open editor to reload the file', () => open.getText() === edited);
      const outcome = await s.api.editor.reviewProposal(s.runDir, 0, { mode: 'accept' });
      assert.equal(outcome.status, 'refused');
      assert.match(outcome.reason ?? '', /changed since the proposal/);
      assert.equal(readFileSync(change.file, 'utf8'), edited);
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === change.file);
      if (doc) assert.equal(doc.getText(), edited);
    } finally {
      writeFileSync(change.file, change.before);
    }
    // Unsaved edits in an open editor count too.
    const doc = await vscode.workspace.openTextDocument(change.file);
    await waitFor('the editor to show the file as on disk', () => doc.getText() === change.before);
    await vscode.window.showTextDocument(doc);
    await replaceInDocument(doc, 'Once upon a time', 'Long ago');
    const outcome = await s.api.editor.reviewProposal(s.runDir, 0, { mode: 'accept' });
    assert.equal(outcome.status, 'refused');
    assert.match(doc.getText(), /^---[\s\S]*Long ago/);
    assert.equal(readFileSync(change.file, 'utf8'), change.before);
    await revertAndCloseAll();
    await waitFor('the editor to be back to the file on disk', () => doc.getText() === change.before);
  });

  it('refuses a proposal that would alter a frozen region', async () => {
    const file = s.prompt('storyteller');
    const before = readFileSync(file, 'utf8');
    assert.match(before, /<DONT_CHANGE>/);
    const proposal = { ...s.run.proposals[0], step: 99, changes: [{ agent: 'storyteller', file, before, after: before.replace('Once upon a time', 'Long ago'), warnings: [] }] };
    writeFileSync(join(s.runDir, 'proposals', 'step-99.json'), JSON.stringify(proposal));
    try {
      const outcome = await s.api.editor.reviewProposal(s.runDir, 99, { mode: 'accept' });
      assert.equal(outcome.status, 'refused');
      assert.match(outcome.reason ?? '', /frozen region/);
      assert.equal(readFileSync(file, 'utf8'), before);
    } finally {
      rmSync(join(s.runDir, 'proposals', 'step-99.json'));
    }
  });

  it('accepting applies the proposal; Undo restores the prompt', async () => {
    const change = s.run.proposals[0].changes.find((c) => c.before !== c.after)!;
    try {
      const outcome = await s.api.editor.reviewProposal(s.runDir, 0, { mode: 'accept' });
      assert.equal(outcome.status, 'applied');
      const doc = await vscode.workspace.openTextDocument(change.file);
      assert.equal(doc.getText(), change.after);
      await doc.save(); // (files.refactoring.autoSave may have saved it already)
      assert.equal(readFileSync(change.file, 'utf8'), change.after);
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      await waitFor('undo to restore the prompt', () => doc.getText() === change.before);
      await doc.save();
      assert.equal(readFileSync(change.file, 'utf8'), change.before);
    } finally {
      await revertAndCloseAll();
      writeFileSync(change.file, change.before);
    }
  });

});

if (vscode.workspace.isTrusted) {
  // Named so the layer's trusted pass (scripts/test-layers/vscode.mjs, which greps this title) runs it: it starts
  // the backend process.
  describe('AgentChord commands (trusted workspace): editor token saliency of a prompt file', function () {
    this.timeout(120_000);
    let s: StoriesRun;

    before(async function () {
      this.timeout(120_000);
      s = await makeStoriesRun('editor-stories-trusted');
    });

    after(async () => {
      await revertAndCloseAll();
      rmSync(s?.dir ?? join(workspaceRoot(), 'editor-stories-trusted'), { recursive: true, force: true });
    });

    it('Show Token Saliency on a prompt computes its tokens through the backend and decorates the file, unmodified', async () => {
      const file = s.prompt('reporterA');
      const uri = vscode.Uri.file(file);
      const before = readFileSync(file, 'utf8');
      const call = s.run.calls.find((c) => c.agent === 'reporterA')!;
      const shown = await vscode.commands.executeCommand<vscode.Uri>('agentchord.showTokenSaliency', { uri, callId: call.id });
      assert.equal(shown?.toString(), uri.toString());
      const applied = s.api.editor.saliency.decorator.lastApplied.get(uri.toString());
      assert.ok(applied && applied.ranges.flat().length > 10, 'the prompt tokens are coloured');
      const doc = await vscode.workspace.openTextDocument(uri);
      assert.equal(doc.getText(), before);
      assert.equal(doc.isDirty, false);
      assert.equal(readFileSync(file, 'utf8'), before);
      const body = before.indexOf('Once upon a time');
      assert.ok(applied.ranges.flat().every((r) => doc.offsetAt(r.start) >= body), 'the front matter is not coloured');
      // Editing the prompt drops its saliency (the offsets no longer hold).
      await replaceInDocument(doc, 'Once', 'Twice');
      await waitFor('the saliency to clear', () => !s.api.editor.saliency.decorator.lastApplied.has(uri.toString()));
    });
  });
}
