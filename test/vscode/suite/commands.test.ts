// The commands in a real VS Code: Optimize end to end (agents on a local OpenAI-compatible test server, connection
// weights on models/stories260k through the backend PROCESS), cancellation, Set API Key, a killed backend, the device
// setting, and Restricted Mode. The offline runner runs the suites once untrusted (the Restricted Mode tests below
// register then) and this file once more in a trusted workspace (--disable-workspace-trust; the other tests).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { AgentCall, CallAttribution, RunManifest } from '../../../src/core/engine/types';
import type { RunCommandResult } from '../../../src/extension/commands/optimize';
import { OpenAITestServer, reply, type RecordedRequest } from '../../support/openaiTestServer';
import { EXTENSION_ID, extensionApi, revertAndCloseAll, waitFor, workspaceRoot } from './helpers';

const KEY_NAME = 'AGENTCHORD_VSCODE_TEST_KEY';
/** Long enough for the real backend: first graph compilation of stories260k, a restart after a kill. */
const SLOW_MS = 240_000;

function extensionPath(): string {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  return ext.extensionPath;
}

/** Copies the fixture system into the workspace as `<name>/agentchord.yaml`, filled in; returns the system file. */
function copySystem(name: string, baseUrl: string): string {
  const dir = join(workspaceRoot(), name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(extensionPath(), 'test', 'vscode', 'fixtures', 'commands-system'), dir, { recursive: true });
  const template = join(dir, 'agentchord.yaml.template');
  const yaml = readFileSync(template, 'utf8')
    .replaceAll('__NAME__', name)
    .replaceAll('__BASE_URL__', baseUrl)
    .replaceAll('__MODEL_DIR__', join(extensionPath(), 'models', 'stories260k'));
  rmSync(template);
  writeFileSync(join(dir, 'agentchord.yaml'), yaml);
  return join(dir, 'agentchord.yaml');
}

/** Copies the fixture system (see copySystem) and waits until the extension has loaded it. */
async function addSystem(name: string, baseUrl: string): Promise<string> {
  const api = await extensionApi();
  const file = copySystem(name, baseUrl);
  // File watchers are not guaranteed to report files written outside the editor promptly: rescan, as a user can.
  await vscode.commands.executeCommand('agentchord.refreshSystems');
  await waitFor(`${file} to load`, () => api.systems.get(file)?.result.system, 20_000).catch((err: Error) => {
    const known = api.systems.list().map((e) => `${e.file}: ${e.result.problems.map((p) => p.message).join('; ') || 'ok'}`);
    throw new Error(`${err.message}; the extension knows ${JSON.stringify(known)}`);
  });
  return file;
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

function manifest(runDir: string): RunManifest {
  return JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunManifest;
}

function runFolders(systemFile: string): string[] {
  const root = join(systemFile, '..', '.agentchord', 'runs');
  return existsSync(root) ? readdirSync(root) : [];
}

async function removeSystem(systemFile: string): Promise<void> {
  const api = await extensionApi();
  rmSync(join(systemFile, '..'), { recursive: true, force: true });
  await vscode.commands.executeCommand('agentchord.refreshSystems');
  await waitFor(`${systemFile} to leave the workspace's systems`, () => api.systems.get(systemFile) === undefined, 20_000);
}

if (vscode.workspace.isTrusted) {
  describe('AgentChord commands (trusted workspace)', function () {
    this.timeout(SLOW_MS);
    const key = `sk-vscode-${Date.now()}`;
    /** Replies wait this long (the cancellation test makes the run slow enough to cancel). */
    let delayMs = 0;
    let server: OpenAITestServer;
    let systemFile: string;
    /** The newest finished run (what Attribute Last Run re-attributes). */
    let lastRun: string;

    before(async () => {
      // Story-like replies: the tiny story model gives them ordinary log-probs. The key is required (Bearer).
      server = await OpenAITestServer.start({
        apiKey: key,
        replies: (r: RecordedRequest) =>
          reply.text(JSON.stringify(r.body.messages).includes('ROLE planner') ? 'Tom had a big red ball.' : 'Tom gave the red ball to Lily. The end.', {
            delayMs,
          }),
      });
      systemFile = await addSystem('commands-stories', server.baseUrl);
    });

    after(async () => {
      await vscode.workspace.getConfiguration().update('agentchord.backend.device', undefined, vscode.ConfigurationTarget.Global);
      await revertAndCloseAll();
      await server?.close();
      if (systemFile) await removeSystem(systemFile);
    });

    it('Set API Key stores the key in secret storage, not in settings or the environment', async () => {
      const stored = await vscode.commands.executeCommand<string>('agentchord.setApiKey', { name: KEY_NAME, key });
      assert.equal(stored, KEY_NAME);
      assert.equal(process.env[KEY_NAME], undefined);
      const config = vscode.workspace.getConfiguration();
      for (const setting of ['backend.device', 'backend.remote', 'backend.cacheDir', 'run.concurrency', 'optimize.acceptanceTest']) {
        const inspected = config.inspect(`agentchord.${setting}`);
        assert.ok(!JSON.stringify(inspected ?? {}).includes(key), `agentchord.${setting} holds the key`);
      }
      // The engine reads it back from secret storage: the test server refuses requests without it (next test).
    });

    it('Optimize runs end to end from a prompt file: calls, connection weights, trajectories, a proposal, a summary', async () => {
      const api = await extensionApi();
      const finished: string[] = [];
      const listener = api.runs.onRunFinished((dir) => finished.push(dir));
      const writerPrompt = join(systemFile, '..', 'prompts', 'writer.chord.md');
      const promptBefore = readFileSync(writerPrompt, 'utf8');
      let result: RunCommandResult | undefined;
      try {
        result = await vscode.commands.executeCommand<RunCommandResult>('agentchord.optimize', {
          uri: vscode.Uri.file(writerPrompt),
          split: 'train',
          yes: true,
        });
      } finally {
        listener.dispose();
      }
      assert.ok(result?.ran, `optimize did not run: ${JSON.stringify(result)}`);
      assert.equal(result.status, 'completed', result.error);
      const runDir = result.runDir!;
      assert.equal(manifest(runDir).status, 'completed');
      assert.equal(manifest(runDir).kind, 'optimize');

      const calls = readJsonl<AgentCall>(join(runDir, 'calls.jsonl'));
      assert.deepEqual(calls.map((c) => c.agent).sort(), ['planner', 'writer']);
      const attribution = readJsonl<CallAttribution>(join(runDir, 'attribution.jsonl'));
      const writer = calls.find((c) => c.agent === 'writer')!;
      const weights = attribution.find((a) => a.callId === writer.id);
      assert.equal(weights?.status, 'ok', `writer call (two blocks) not attributed: ${weights?.reason}`);
      assert.equal(weights?.attributionModel, 'tiny');
      assert.deepEqual(Object.keys(weights!.weights).sort(), writer.blocks.map((b) => b.id).sort());
      assert.ok(Object.values(weights!.weights).every((w) => Number.isFinite(w) && w >= 0));
      assert.equal(attribution.find((a) => a.callId !== writer.id)?.status, 'single-block');

      assert.ok(readJsonl(join(runDir, 'trajectories.jsonl')).length > 0, 'no trajectories');
      assert.ok((result.proposals ?? []).length >= 1, 'no proposal');
      assert.ok(result.proposals!.every((p) => existsSync(p) && p.startsWith(join(runDir, 'proposals'))));
      assert.equal(readFileSync(writerPrompt, 'utf8'), promptBefore, 'Optimize wrote a prompt file');

      // Every model request carried the key from secret storage.
      assert.ok(server.completionRequests.length >= 2);
      assert.ok(server.completionRequests.every((r) => r.headers.authorization === `Bearer ${key}`));
      assert.deepEqual(finished, [runDir]);
      assert.equal(api.runs.latest(systemFile)?.dir, runDir);
      // Results open as a document (the summary), and the HTML report is written.
      assert.ok(existsSync(join(runDir, 'report.html')));
      const editor = await waitFor('the run summary document', () => vscode.window.activeTextEditor?.document.uri.scheme === 'agentchord-run' && vscode.window.activeTextEditor);
      assert.match(editor.document.getText(), /# AgentChord optimize .*: completed/);
      // The backend is a separate process, and reports its device and the attribution model.
      assert.equal(api.backend.state, 'ready');
      assert.ok(api.backend.pid && api.backend.pid !== process.pid);
      assert.ok(api.backend.status?.loadedModels.some((m) => m.dir.endsWith('stories260k')));
    });

    it('Run records a forward run of the chosen split with connection weights, and fires onRunFinished', async () => {
      const api = await extensionApi();
      const finished: string[] = [];
      const listener = api.runs.onRunFinished((dir) => finished.push(dir));
      let result: RunCommandResult | undefined;
      try {
        result = await vscode.commands.executeCommand<RunCommandResult>('agentchord.run', { uri: vscode.Uri.file(systemFile), split: 'validation', yes: true });
      } finally {
        listener.dispose();
      }
      assert.equal(result?.status, 'completed', JSON.stringify(result));
      lastRun = result.runDir!;
      assert.equal(manifest(lastRun).kind, 'run');
      assert.equal(manifest(lastRun).dataset.split, 'validation');
      const calls = readJsonl<AgentCall>(join(lastRun, 'calls.jsonl'));
      assert.equal(calls.length, 2, 'one validation sample, two agents');
      const writer = calls.find((c) => c.agent === 'writer')!;
      assert.equal(readJsonl<CallAttribution>(join(lastRun, 'attribution.jsonl')).find((a) => a.callId === writer.id)?.status, 'ok');
      assert.deepEqual(finished, [lastRun]);
      assert.equal(api.runs.latest(systemFile, true)?.dir, lastRun);
    });

    it('a killed backend is restarted and the next command (Attribute Last Run) works', async () => {
      const api = await extensionApi();
      const pid = api.backend.pid;
      assert.ok(pid, 'the backend should be running after Optimize');
      process.kill(pid, 'SIGKILL');
      await waitFor('the backend to be restarted', () => api.backend.state === 'ready' && api.backend.pid !== undefined && api.backend.pid !== pid, 60_000);

      const result = await vscode.commands.executeCommand<RunCommandResult>('agentchord.attributeLastRun', { uri: vscode.Uri.file(systemFile) });
      assert.ok(result?.ran, JSON.stringify(result));
      assert.equal(result.runDir, lastRun);
      assert.equal(result.error, undefined);
      assert.ok(existsSync(join(lastRun, 'attribution.previous.jsonl')), 'the previous attribution.jsonl is kept');
      const calls = readJsonl<AgentCall>(join(lastRun, 'calls.jsonl'));
      const attribution = readJsonl<CallAttribution>(join(lastRun, 'attribution.jsonl'));
      assert.equal(attribution.length, calls.length);
      const writer = calls.find((c) => c.agent === 'writer')!;
      assert.equal(attribution.find((a) => a.callId === writer.id)?.status, 'ok');
    });

    it('Select Attribution Device sets the setting and restarts the backend on that device', async () => {
      const api = await extensionApi();
      const pid = api.backend.pid;
      const device = await vscode.commands.executeCommand<string>('agentchord.selectAttributionDevice', { device: 'cpu' });
      assert.equal(device, 'cpu');
      assert.equal(vscode.workspace.getConfiguration().get('agentchord.backend.device'), 'cpu');
      await waitFor('the backend to run again', () => api.backend.state === 'ready' && api.backend.pid !== pid, 60_000);
      assert.equal(api.backend.status?.device.device, 'cpu');
    });

    it('cancelling the progress stops the run and marks it cancelled', async () => {
      const api = await extensionApi();
      // A second copy: its own response cache, so every request really goes to the (now slow) server.
      const slowSystem = await addSystem('commands-cancel', server.baseUrl);
      try {
        delayMs = 5_000;
        const before = server.completionRequests.length;
        const running = vscode.commands.executeCommand<RunCommandResult>('agentchord.optimize', { uri: vscode.Uri.file(slowSystem), split: 'train', yes: true });
        await waitFor('the first model request', () => server.completionRequests.length > before, 60_000);
        await waitFor('the job to be listed', () => api.jobs.active.length > 0);
        const cancelledAt = Date.now();
        api.jobs.cancelAll();
        const result = await running;
        assert.ok(Date.now() - cancelledAt < 4_000, 'the run did not stop promptly');
        assert.equal(result?.status, 'cancelled', JSON.stringify(result));
        assert.equal(manifest(result.runDir!).status, 'cancelled');
        assert.deepEqual(api.jobs.active, []);
      } finally {
        delayMs = 0;
        await removeSystem(slowSystem);
      }
    });

    it('agentchord.backend.remote is a user setting only: a workspace cannot point the token at its own host', async () => {
      await assert.rejects(
        Promise.resolve(vscode.workspace.getConfiguration().update('agentchord.backend.remote', '203.0.113.7:7601', vscode.ConfigurationTarget.Workspace)),
        /user settings|Unable to write/i,
      );
    });

    it('connects to a remote backend (agentchord.backend.remote) with the token from secret storage', async () => {
      const api = await extensionApi();
      const token = `token-${Date.now()}`;
      // A backend started elsewhere with --listen (port 0: the OS picks one; the backend logs it).
      const remote = spawn(process.execPath, [join(extensionPath(), 'dist', 'backend.js'), '--listen', '127.0.0.1:0', '--device', 'cpu'], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', AGENTCHORD_BACKEND_TOKEN: token, ORT_DISABLE_TELEMETRY: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        let stderr = '';
        remote.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const port = await waitFor('the remote backend to listen', () => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 30_000);
        await vscode.commands.executeCommand('agentchord.setApiKey', { name: 'agentchord.backend.token', key: token });
        await vscode.workspace.getConfiguration().update('agentchord.backend.remote', `127.0.0.1:${port}`, vscode.ConfigurationTarget.Global);
        await api.backend.restart();
        assert.equal(api.backend.state, 'ready');
        assert.equal(api.backend.status?.pid, remote.pid, 'the extension talks to the remote backend, not a child of its own');
      } finally {
        await vscode.workspace.getConfiguration().update('agentchord.backend.remote', undefined, vscode.ConfigurationTarget.Global);
        await api.backend.stop();
        remote.kill();
      }
    });
  });
} else {
  describe('AgentChord commands in Restricted Mode', function () {
    this.timeout(60_000);
    let systemFile: string;

    before(async () => {
      systemFile = await addSystem('commands-restricted', 'http://127.0.0.1:9/v1');
    });

    after(async () => {
      if (systemFile) await removeSystem(systemFile);
    });

    it('Optimize, Run and Attribute Last Run explain why they do not run, and start nothing', async () => {
      const api = await extensionApi();
      assert.equal(vscode.workspace.isTrusted, false);
      const uri = vscode.Uri.file(systemFile);
      for (const command of ['agentchord.optimize', 'agentchord.run', 'agentchord.attributeLastRun']) {
        const result = await vscode.commands.executeCommand<RunCommandResult>(command, { uri, split: 'train', yes: true });
        assert.deepEqual(result, { ran: false, reason: 'untrusted' }, command);
      }
      assert.deepEqual(runFolders(systemFile), [], 'a run folder was created');
      assert.equal(api.backend.state, 'stopped', 'the backend was started');
      assert.equal(api.backend.pid, undefined);
      // Validation still works.
      assert.deepEqual(api.systems.get(systemFile)?.result.problems.filter((p) => p.severity === 'error'), []);
    });

    it('Review Proposal and New System write nothing in Restricted Mode', async () => {
      const outcome = await vscode.commands.executeCommand('agentchord.reviewProposal', { runDir: join(dirname(systemFile), '.agentchord', 'runs', 'any'), step: 0, mode: 'accept' });
      assert.deepEqual(outcome, { status: 'untrusted', files: [] });
      const folder = join(dirname(systemFile), 'new-system-restricted');
      assert.equal(await vscode.commands.executeCommand('agentchord.newSystem', { folder }), undefined);
      assert.equal(existsSync(folder), false, 'New System wrote a folder');
    });

    it('declares limited support with the backend settings restricted', () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      const untrusted = ext.packageJSON.capabilities.untrustedWorkspaces;
      assert.equal(untrusted.supported, 'limited');
      assert.deepEqual(untrusted.restrictedConfigurations, ['agentchord.backend.remote', 'agentchord.backend.remoteCa', 'agentchord.backend.cacheDir']);
    });
  });
}
