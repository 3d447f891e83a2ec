import * as vscode from 'vscode';
import { SYSTEM_FILE_NAME } from '../../core/system';
import type { Ctx } from '../ctx';
import { RECOMMENDED_MODELS, withAttributionModel } from '../pure/models/recommended';
import { requireTrust } from '../trust';
import { secretApiKeyResolver } from './apiKeys';
import type { CommandDeps } from './optimize';
import { chooseSystem } from './target';

const TITLE = 'Download Attribution Model';

export interface DownloadModelArgs {
  /** `org/name`; default: a pick of the recommended surrogates or any repository id. */
  repo?: string;
  revision?: string;
  /** The hub (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** The system file to offer the edit for (default: asked, when the workspace has systems). */
  systemFile?: string;
  /** 'preview' (default): the edit opens in the refactor preview; 'accept': applied without it (tests); 'skip'. */
  review?: 'preview' | 'accept' | 'skip';
}

export type DownloadModelResult =
  | { ran: true; dir: string; repo: string; edited: boolean; modelKey?: string }
  | { ran: false; reason: 'untrusted' | 'cancelled-by-user' | 'cancelled' | 'error'; error?: string };

/**
 * "AgentChord: Download Attribution Model…": pulls a Hugging Face model into the model cache (as `agentchord model
 * pull` does: listing, config.json checked first, resume, sha256, the HF_TOKEN secret for gated models) under a
 * cancellable progress notification, then offers to make it a system's attribution model through a reviewable edit
 * of agentchord.yaml (models: <key>: { provider: local, path: <repo id> }, attribution.model: <key>). Downloading is
 * network and file I/O only (no ONNX Runtime), so it runs here rather than in the backend process.
 */
export async function downloadModelCommand(deps: CommandDeps, args: DownloadModelArgs = {}): Promise<DownloadModelResult> {
  const { ctx, systems } = deps;
  if (!requireTrust(TITLE, 'it downloads files and may edit a system file')) return { ran: false, reason: 'untrusted' };
  const repo = args.repo ?? (await pickRepo());
  if (!repo) return { ran: false, reason: 'cancelled-by-user' };
  const { pullModel } = await import('../../backend/download/modelCache');
  const { DEFAULT_ENDPOINT } = await import('../../backend/download/hfDownload');
  const token = await secretApiKeyResolver(ctx.extension.secrets)('HF_TOKEN');
  const endpoint = args.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  let result;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `AgentChord: downloading ${repo}`, cancellable: true },
      async (progress, cancel) => {
        const controller = new AbortController();
        cancel.onCancellationRequested(() => controller.abort(new Error('cancelled')));
        let total = 0;
        let lastShown = 0;
        return pullModel({
          repo,
          revision: args.revision,
          endpoint,
          ...(token ? { token } : {}),
          signal: controller.signal,
          onPlan: (plan) => (total = plan.bytes),
          onProgress: (p) => {
            const percent = total ? Math.floor((p.receivedBytes / Math.max(1, p.totalBytes ?? total)) * 100) : 0;
            if (percent === lastShown) return;
            lastShown = percent;
            progress.report({ message: `${p.file} (${p.fileIndex + 1}/${p.fileCount}) ${percent}%` });
          },
        });
      },
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/cancel|abort/i.test(message)) {
      void vscode.window.showInformationMessage(`AgentChord: ${TITLE} cancelled; what was fetched is kept and resumes next time.`);
      return { ran: false, reason: 'cancelled', error: message };
    }
    ctx.log.error(`${TITLE}: ${message}`);
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: ${message}`);
    return { ran: false, reason: 'error', error: message };
  }
  ctx.log.info(`${TITLE}: ${repo} -> ${result.dir} (${result.files.length} files)`);

  const review = args.review ?? 'preview';
  if (review === 'skip' || systems.list().length === 0) {
    void vscode.window.showInformationMessage(`AgentChord: downloaded ${repo} to ${result.dir}. Name it as a local model's path in agentchord.yaml: path: ${repo}`);
    return { ran: true, dir: result.dir, repo, edited: false };
  }
  const system = args.systemFile ? { file: args.systemFile } : await chooseSystem(systems, `${TITLE}: use ${repo} for attribution in which system?`);
  if (!system) return { ran: true, dir: result.dir, repo, edited: false };
  const edited = await proposeEdit(ctx, system.file, repo, review === 'preview');
  return { ran: true, dir: result.dir, repo, edited: edited !== undefined, ...(edited ? { modelKey: edited } : {}) };
}

async function pickRepo(): Promise<string | undefined> {
  const other = { label: '$(edit) Another repository…', repo: '' };
  const picked = await vscode.window.showQuickPick(
    [...RECOMMENDED_MODELS.map((m) => ({ label: m.repo, description: `${m.size} · ${m.licence}${m.gated ? ' · gated' : ''}`, detail: m.why, repo: m.repo })), other],
    { title: TITLE, placeHolder: 'A white-box model the backend runs as a surrogate for your agents’ models' },
  );
  if (!picked) return undefined;
  if (picked.repo) return picked.repo;
  return vscode.window.showInputBox({
    title: TITLE,
    prompt: 'A Hugging Face model repository (a Llama, Mistral, Qwen2 or Qwen3 causal LM with safetensors weights)',
    placeHolder: 'org/name',
    validateInput: (v) => (/^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/.test(v.trim()) ? undefined : 'expected org/name'),
  });
}

/** The agentchord.yaml edit, as a refactor preview the user accepts or discards (or applied directly: `confirm` false). */
async function proposeEdit(ctx: Ctx, systemFile: string, repo: string, confirm: boolean): Promise<string | undefined> {
  const uri = vscode.Uri.file(systemFile);
  const doc = await vscode.workspace.openTextDocument(uri);
  let next: { text: string; key: string };
  try {
    next = withAttributionModel(doc.getText(), repo);
  } catch (err) {
    void vscode.window.showErrorMessage(`AgentChord: ${TITLE}: ${systemFile}: ${(err as Error).message}`);
    return undefined;
  }
  const edit = new vscode.WorkspaceEdit();
  const whole = new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length));
  const metadata = { needsConfirmation: true, label: `AgentChord: ${repo} as the attribution model`, description: SYSTEM_FILE_NAME };
  if (confirm) edit.replace(uri, whole, next.text, metadata);
  else edit.replace(uri, whole, next.text);
  const applied = await vscode.workspace.applyEdit(edit, { isRefactoring: true });
  if (!applied) return undefined;
  if (!confirm) await doc.save();
  ctx.log.info(`${TITLE}: ${systemFile}: attribution.model is now ${next.key} (${repo})`);
  return next.key;
}
