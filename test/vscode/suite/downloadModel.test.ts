// "AgentChord: Download Attribution Model…" in a real VS Code: a model pulled from a local hub (test/support/
// hubTestServer.ts, serving models/chord-retrieval) into the model cache, then made a system's attribution model by an
// edit of its agentchord.yaml. Runs in the trusted pass (it writes files).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { COMMANDS } from '../../../src/extension/commandIds';
import type { DownloadModelResult } from '../../../src/extension/commands/downloadModel';
import { filesOfFolder, HubTestServer } from '../../support/hubTestServer';
import { EXTENSION_ID, extensionApi, workspaceRoot } from './helpers';

if (vscode.workspace.isTrusted) {
  describe('AgentChord commands (trusted workspace): Download Attribution Model', function () {
    this.timeout(60_000);
    let hub: HubTestServer;
    let cache: string;
    let folder: string;
    const previous = process.env.AGENTCHORD_MODELS;

    before(async () => {
      await extensionApi();
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      hub = await HubTestServer.start();
      hub.addRepo('test-org/chord-retrieval', filesOfFolder(join(ext.extensionPath, 'models', 'chord-retrieval')));
      cache = mkdtempSync(join(tmpdir(), 'agentchord-vscode-models-'));
      process.env.AGENTCHORD_MODELS = cache; // read by the extension (same process) when it pulls
      folder = join(workspaceRoot(), `download-model-${Date.now()}`);
      mkdirSync(folder, { recursive: true });
    });
    after(async () => {
      if (previous === undefined) delete process.env.AGENTCHORD_MODELS;
      else process.env.AGENTCHORD_MODELS = previous;
      await hub?.close();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      rmSync(folder, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    });

    it('pulls a model from the hub into the model cache and names it as the attribution model in agentchord.yaml', async () => {
      const systemFile = join(folder, 'agentchord.yaml');
      writeFileSync(systemFile, '# a system\nversion: 1\nname: s\nmodels:\n  gpt: { provider: openai, model: gpt-4o-mini }\nattribution: { strategy: mean_l1_norm, topK: 1 }\n');
      const result = await vscode.commands.executeCommand<DownloadModelResult>(COMMANDS.downloadModel, {
        repo: 'test-org/chord-retrieval',
        endpoint: hub.url,
        systemFile,
        review: 'accept',
      });
      assert.ok(result.ran, JSON.stringify(result));
      assert.equal(result.dir, join(cache, 'test-org', 'chord-retrieval', 'main'));
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(result.dir, f)), `${f} pulled`);
      assert.equal(result.edited, true);
      const text = readFileSync(systemFile, 'utf8');
      const yaml = parse(text) as { models: Record<string, { provider: string; path: string }>; attribution: { model: string; strategy: string } };
      assert.deepEqual(yaml.models[result.modelKey!], { provider: 'local', path: 'test-org/chord-retrieval', device: 'auto' });
      assert.equal(yaml.attribution.model, result.modelKey);
      assert.equal(yaml.attribution.strategy, 'mean_l1_norm', 'the strategy is kept');
      assert.match(text, /# a system/, 'comments are kept');
    });

    it('an unknown repository: an error naming it, nothing written', async () => {
      const result = await vscode.commands.executeCommand<DownloadModelResult>(COMMANDS.downloadModel, { repo: 'test-org/nothing', endpoint: hub.url, review: 'skip' });
      assert.equal(result.ran, false);
      assert.ok(!result.ran && result.reason === 'error');
      assert.match(result.error ?? '', /test-org\/nothing/);
      assert.equal(existsSync(join(cache, 'test-org', 'nothing')), false);
    });
  });
}
