// attribution.backends in a real VS Code: a system whose file names an `agentchord serve` host runs its local models
// there (the extension's pooled session, src/extension/commands/engineSession.ts), with the token from SecretStorage.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';
import { RunFolder } from '../../../src/core/engine/runFolder';
import type { RunCommandResult } from '../../../src/extension/commands/optimize';
import { EXTENSION_ID, extensionApi, waitFor, workspaceRoot } from './helpers';

const TOKEN = 'remote-backend-test-token';

if (vscode.workspace.isTrusted) {
  describe('AgentChord commands (trusted workspace): attribution.backends', function () {
    this.timeout(120_000);
    let server: ChildProcess | undefined;
    const served: string[] = [];
    let folder: string;
    let cache: string;

    before(async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      cache = mkdtempSync(join(tmpdir(), 'agentchord-vscode-serve-'));
      server = spawn(process.execPath, [join(ext.extensionPath, 'dist', 'cli.js'), 'serve', '--listen', '127.0.0.1:0', '--device', 'cpu', '--models-dir', join(ext.extensionPath, 'models')], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: cache, AGENTCHORD_BACKEND_TOKEN: TOKEN },
      });
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: server!.stderr! }).on('line', (line) => {
          served.push(line);
          const event = JSON.parse(line) as { event?: string; port?: number };
          if (event.event === 'listening') resolve(Number(event.port));
        });
        server!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${served.join('\n')}`)));
      });
      folder = join(workspaceRoot(), `remote-backends-${Date.now()}`);
      cpSync(join(ext.extensionPath, 'examples', 'demo-blame'), folder, { recursive: true, filter: (src) => !src.includes('.agentchord') });
      const file = join(folder, 'agentchord.yaml');
      const yaml = readFileSync(file, 'utf8')
        .replace('path: ../../models/chord-retrieval', `path: ${join(ext.extensionPath, 'models', 'chord-retrieval')}`)
        .replace(/^attribution: .*$/m, `attribution: { model: retrieval, strategy: max_grad_input, topK: 1, backends: [{ url: "tcp://127.0.0.1:${port}", tokenEnv: AGENTCHORD_TEST_BACKEND_TOKEN }] }`);
      writeFileSync(file, yaml);
      await vscode.commands.executeCommand('agentchord.setApiKey', { name: 'AGENTCHORD_TEST_BACKEND_TOKEN', key: TOKEN });
    });
    after(async () => {
      server?.kill('SIGTERM');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      rmSync(folder, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    });

    it('Run attributes every call on the serve host named in agentchord.yaml', async () => {
      const api = await extensionApi();
      const systemFile = join(folder, 'agentchord.yaml');
      const system = await waitFor('the system to load', () => api.systems.get(systemFile)?.result.system, 30_000);
      assert.equal(system.attribution.backends?.length, 1);
      const result = await vscode.commands.executeCommand<RunCommandResult>('agentchord.run', { uri: vscode.Uri.file(systemFile), split: 'train', yes: true });
      assert.equal(result.ran, true, JSON.stringify(result));
      const runs = join(folder, '.agentchord', 'runs');
      const run = RunFolder.open(join(runs, readdirSync(runs)[0])).read();
      const answerer = run.attribution.filter((a) => a.callId.includes('/answerer/'));
      assert.ok(answerer.length > 0 && answerer.every((a) => a.status === 'ok'), JSON.stringify(answerer.map((a) => a.reason)));
      // The serve host did the work: its log has the attribution requests (by model name, not a client path).
      assert.ok(served.some((l) => /"method":"attribute"/.test(l)), served.slice(-5).join('\n'));
      assert.ok(!served.some((l) => l.includes(TOKEN)), 'the token is never logged');
    });
  });
}
