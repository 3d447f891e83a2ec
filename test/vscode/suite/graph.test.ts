// The attribution-graph panel in a real VS Code: it opens on a run folder, its webview script runs under the strict
// CSP (it says `ready`), and it receives a state listing the system's agents.
import assert from 'node:assert/strict';
import { rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { RunFolder } from '../../../src/core/engine/runFolder';
import { loadSystemFile } from '../../../src/core/system';
import { type GraphPanelProbe } from '../../../src/extension/graph';
import { threeAgentRun } from '../../unit/extension/pure/graph/fixtures';
import { extensionApi, workspaceRoot } from './helpers';
import { COMMANDS } from '../../../src/extension/commandIds';

/** Writes a run of the fixture system (researcher, critic -> writer) into its .agentchord/runs folder. */
function writeFixtureRun(systemFile: string): string {
  const { system } = loadSystemFile(systemFile);
  assert.ok(system, `${systemFile} must load`);
  const contents = threeAgentRun(system);
  const { id: _id, createdAt: _createdAt, ...manifest } = contents.manifest;
  const folder = RunFolder.create(system.dir, manifest);
  for (const c of contents.calls) folder.appendCall(c);
  for (const s of contents.samples) folder.appendSample(s);
  for (const g of contents.graphs) folder.appendGraph(g);
  folder.appendTrajectories(contents.trajectories);
  return folder.dir;
}

/** Polls the panel's probe (the extension's own module state, read through its internal command) until `accept`. */
async function probeUntil(what: string, accept: (p: GraphPanelProbe) => boolean, timeoutMs = 20_000): Promise<GraphPanelProbe> {
  const deadline = Date.now() + timeoutMs;
  let last: GraphPanelProbe | undefined;
  while (Date.now() < deadline) {
    last = await vscode.commands.executeCommand<GraphPanelProbe>(COMMANDS.graphProbe);
    if (last && accept(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last probe: ${JSON.stringify({ ...last, state: last?.state ? '(present)' : undefined })}`);
}

describe('graph panel', () => {
  let runDir: string | undefined;
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    if (!runDir) return;
    rmSync(runDir, { recursive: true, force: true });
    // Leave the workspace as the other suites expect it: no .agentchord folder unless something else is in it.
    for (const dir of [dirname(runDir), dirname(dirname(runDir))]) {
      try {
        rmdirSync(dir);
      } catch {
        break; // not empty: someone else's runs
      }
    }
  });

  it('opens on a run, its webview loads under the CSP, and it receives the agents', async () => {
    await extensionApi();
    const systemFile = join(workspaceRoot(), 'valid', 'agentchord.yaml');
    runDir = writeFixtureRun(systemFile);
    assert.ok((await vscode.commands.getCommands(true)).includes(COMMANDS.openGraph));

    await vscode.commands.executeCommand(COMMANDS.openGraph, { systemFile, mode: 'full' });
    // readies > 0: the webview's script ran (the CSP let it) and asked for the state; delivered > 0: it got one.
    const full = await probeUntil('the agent graph, delivered to a webview that said ready', (p) => p.open && !!p.state && p.readies > 0 && p.delivered > 0);
    assert.equal(full.state?.mode, 'full');
    assert.equal(full.state?.system.name, 'fixture-valid');
    assert.deepEqual(full.state?.nodes.filter((n) => n.kind === 'agent').map((n) => n.agent), ['critic', 'researcher', 'writer']);
    assert.equal(full.state?.runs.length, 1);
    assert.ok(full.state?.nodes.find((n) => n.agent === 'critic')!.blame === 0.5, 'blame of the critic over the run');
    // Shares say what they are of, and edges carry their hover text (the webview's SVG <title>).
    assert.deepEqual(full.state?.blame.map((b) => [b.agent, b.text]), [
      ['researcher', 'on 2 of 2 failing trajectories'],
      ['writer', 'on 2 of 2 failing trajectories'],
      ['critic', 'on 1 of 2 failing trajectories'],
    ]);
    const criticToWriter = full.state?.edges.find((e) => e.from === 'agent:critic' && e.to === 'agent:writer');
    assert.equal(criticToWriter?.title, "critic → writer: 53% of writer's input weight (w 0.533)");

    await vscode.commands.executeCommand(COMMANDS.openGraph, { systemFile, mode: 'topk', sampleId: 's2' });
    const topk = await probeUntil('the top-k graph of sample s2', (p) => p.state?.mode === 'topk');
    assert.equal(topk.state?.sampleId, 's2');
    assert.ok(topk.state?.nodes.some((n) => n.callId === 's2/t0/writer/s0'));
  });
});

