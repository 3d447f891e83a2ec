// "AgentChord: Import Trace…" in a real VS Code: a recorded OTLP export (test/fixtures/traces, made by
// @opentelemetry/instrumentation-openai) becomes a workspace folder with a run, the system shows up in the extension,
// and the graph panel opens on the imported run; an export without message content fails, writing nothing.
// Import Trace writes files, so its main tests run in the runner's trusted pass (the suite name selects them).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { RunManifest } from '../../../src/core/engine/types';
import { RunFolder } from '../../../src/core/engine/runFolder';
import type { RunCommandResult } from '../../../src/extension/commands/optimize';
import { COMMANDS } from '../../../src/extension/commandIds';
import type { ImportTraceCommandResult } from '../../../src/extension/commands/importTrace';
import type { GraphPanelProbe } from '../../../src/extension/graph';
import { EXTENSION_ID, extensionApi, waitFor, workspaceRoot } from './helpers';

function traceFixture(name: string): string {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  return join(ext.extensionPath, 'test', 'fixtures', 'traces', name);
}

/** A fresh folder name inside the workspace (not created: the import creates it). */
function scaffoldFolder(name: string): string {
  return join(workspaceRoot(), 'imported-traces', `${name}-${Date.now()}`);
}

async function probeGraph(what: string, accept: (p: GraphPanelProbe) => boolean, timeoutMs = 20_000): Promise<GraphPanelProbe> {
  const deadline = Date.now() + timeoutMs;
  let last: GraphPanelProbe | undefined;
  while (Date.now() < deadline) {
    last = await vscode.commands.executeCommand<GraphPanelProbe>(COMMANDS.graphProbe);
    if (last && accept(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last probe: ${JSON.stringify({ ...last, state: last?.state ? { system: last.state.system, runId: last.state.runId } : undefined })}`);
}

if (vscode.workspace.isTrusted) {
  describe('AgentChord commands (trusted workspace): Import Trace', function () {
    this.timeout(90_000);

    after(async () => {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      rmSync(join(workspaceRoot(), 'imported-traces'), { recursive: true, force: true });
      // Leave the extension's systems as the other suites expect them.
      await vscode.commands.executeCommand(COMMANDS.refreshSystems);
    });

    it('imports an OTLP export into a new workspace folder: a run folder, the system in the extension, its graph', async () => {
      const api = await extensionApi();
      const file = traceFixture('genai-openai.otlp.jsonl');
      const scaffold = scaffoldFolder('genai-openai');
      const result = await vscode.commands.executeCommand<ImportTraceCommandResult>(COMMANDS.importTrace, { files: [file], scaffold });

      assert.equal(result.ran, true, JSON.stringify(result));
      assert.ok(result.ran);
      const systemFile = join(scaffold, 'agentchord.yaml');
      assert.equal(result.systemFile, systemFile);
      assert.equal(dirname(result.runDir), join(scaffold, '.agentchord', 'runs'));
      assert.ok(existsSync(systemFile), 'agentchord.yaml was not written');
      for (const agent of ['planner', 'researcher', 'writer']) assert.ok(existsSync(join(scaffold, 'prompts', `${agent}.chord.md`)), `no prompt file for ${agent}`);

      const manifest = JSON.parse(readFileSync(join(result.runDir, 'run.json'), 'utf8')) as RunManifest;
      assert.equal(manifest.id, result.runId);
      assert.equal(manifest.status, 'completed');
      assert.equal(manifest.systemFile, systemFile);
      assert.equal(manifest.imported?.sources[0]?.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));

      // The extension knows the system: loaded without errors, listed in the view, its run the latest.
      const system = await waitFor('the imported system to load', () => api.systems.get(systemFile)?.result.system, 20_000);
      assert.deepEqual(system.agents.map((a) => a.name).sort(), ['planner', 'researcher', 'writer']);
      assert.deepEqual(api.systems.get(systemFile)?.result.problems.filter((p) => p.severity === 'error'), []);
      assert.ok(system.attribution.model, 'the scaffold should name the embedded attribution model');
      await waitFor('the imported system in the Systems view', () => api.systemsView.getChildren().some((n) => n.entry.file === systemFile));
      assert.equal(api.runs.latest(systemFile, true)?.dir, result.runDir);

      // The graph panel shows the imported run.
      const graph = await probeGraph('the graph of the imported run', (p) => p.open && p.state?.system.file === systemFile && p.state.runId === result.runId && p.delivered > 0);
      assert.deepEqual(
        graph.state?.nodes.filter((n) => n.kind === 'agent').map((n) => n.agent).sort(),
        ['planner', 'researcher', 'writer'],
      );
    });

    it('Blame Run with Verdicts on the imported run: weights from the backend, trajectories, blame in the prompt CodeLens', async () => {
      const api = await extensionApi();
      const scaffold = scaffoldFolder('blame');
      const imported = await vscode.commands.executeCommand<ImportTraceCommandResult>(COMMANDS.importTrace, { files: [traceFixture('genai-openai.otlp.jsonl')], scaffold });
      assert.ok(imported.ran, JSON.stringify(imported));
      const systemFile = join(scaffold, 'agentchord.yaml');
      await waitFor('the imported system to load', () => api.systems.get(systemFile)?.result.system, 20_000);
      const verdicts = join(scaffold, 'verdicts.jsonl');
      writeFileSync(verdicts, JSON.stringify({ traceId: 'b1109f2bbe6bf44889ea650de0bef5ae', loss: 'The answer ignored the afternoon timing.', score: 0 }) + '\n');
      const result = await vscode.commands.executeCommand<RunCommandResult>(COMMANDS.blameRun, { uri: systemFile, runDir: imported.runDir, verdicts });
      assert.equal(result.ran, true, JSON.stringify(result));
      assert.equal(result.status, 'completed', JSON.stringify(result));
      const run = RunFolder.open(imported.runDir).read();
      assert.ok(run.attribution.some((a) => a.status === 'ok' && a.surrogate), 'gradient weights from the backend');
      assert.ok(run.trajectories.length > 0 && run.trajectories.every((t) => t.sampleId === 'b1109f2bbe6bf44889ea650de0bef5ae'));
      // The blamed agent's prompt file says so in its CodeLens.
      const writer = vscode.Uri.file(join(scaffold, 'prompts', 'writer.chord.md'));
      await vscode.workspace.openTextDocument(writer);
      let titles: string[] = [];
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && !titles.some((t) => /blame 100%/.test(t)); await new Promise((r) => setTimeout(r, 100))) {
        const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', writer)) ?? [];
        titles = lenses.map((l) => l.command?.title ?? '');
      }
      assert.match(titles.join(' | '), /blame 100%/, 'the writer prompt CodeLens');
    });

    it('an export recorded without message content: an error naming content capture, nothing written', async () => {
      const scaffold = scaffoldFolder('nocontent');
      const result = await vscode.commands.executeCommand<ImportTraceCommandResult>(COMMANDS.importTrace, {
        files: [traceFixture('genai-openai-nocontent.otlp.jsonl')],
        scaffold,
      });
      assert.equal(result.ran, false);
      assert.ok(!result.ran);
      assert.equal(result.reason, 'error');
      assert.match(result.error ?? '', /content capture/);
      assert.match(result.error ?? '', /genai-openai-nocontent\.otlp\.jsonl/, 'the message names the file');
      const runs = join(scaffold, '.agentchord', 'runs');
      assert.ok(!existsSync(runs) || readdirSync(runs).length === 0, 'a run folder was written');
      assert.ok(!existsSync(join(scaffold, 'agentchord.yaml')), 'a system file was written');
    });
  });
} else {
  describe('Import Trace in Restricted Mode', () => {
    it('explains why it does not run and writes nothing', async () => {
      await extensionApi();
      const scaffold = scaffoldFolder('restricted');
      const result = await vscode.commands.executeCommand<ImportTraceCommandResult>(COMMANDS.importTrace, {
        files: [traceFixture('genai-openai.otlp.jsonl')],
        scaffold,
      });
      assert.deepEqual(result, { ran: false, reason: 'untrusted' });
      assert.equal(existsSync(scaffold), false, 'Import Trace wrote a folder');
    });
  });
}
