import * as vscode from 'vscode';
import type { ApiKeyResolver } from '../../core/llm/openaiProvider';
import { REMOTE_TOKEN_SECRET } from '../backend/settings';
import type { Ctx } from '../ctx';
import type { SystemWorkspace } from '../systemWorkspace';


/** Arguments that let tests run "Set API Key" without prompts. */
export interface SetApiKeyArgs {
  /** The model's apiKeyEnv name (or `agentchord.backend.token` for the remote backend). */
  name?: string;
  key?: string;
}

/** Keys by name (a model's apiKeyEnv): VS Code's SecretStorage first, then the environment. */
export function secretApiKeyResolver(secrets: vscode.SecretStorage): ApiKeyResolver {
  return async (name) => (await secrets.get(name)) ?? process.env[name];
}

/** Asks which key (the apiKeyEnv names of the workspace's models), then the key; stores it in SecretStorage only. */
export async function setApiKey(ctx: Ctx, systems: SystemWorkspace, args: SetApiKeyArgs = {}): Promise<string | undefined> {
  const name = args.name ?? (await pickName(systems));
  if (!name) return undefined;
  const key =
    args.key ??
    (await vscode.window.showInputBox({
      title: `AgentChord: API key for ${name}`,
      prompt: `Stored in VS Code's secret storage under ${name} (never in settings or files).`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Enter the key.'),
    }));
  if (!key?.trim()) return undefined;
  await ctx.extension.secrets.store(name, key.trim());
  ctx.log.info(`stored the key ${name} in secret storage`);
  void vscode.window.showInformationMessage(`AgentChord: key ${name} stored in secret storage.`);
  return name;
}

async function pickName(systems: SystemWorkspace): Promise<string | undefined> {
  const names = new Map<string, string[]>();
  for (const entry of systems.list()) {
    for (const model of Object.values(entry.result.system?.models ?? {})) {
      if (model.kind === 'endpoint' && model.apiKeyEnv) names.set(model.apiKeyEnv, [...(names.get(model.apiKeyEnv) ?? []), model.name]);
    }
  }
  const items: Array<vscode.QuickPickItem & { name: string }> = [...names].map(([name, models]) => ({
    label: name,
    description: `models: ${[...new Set(models)].join(', ')}`,
    name,
  }));
  items.push({ label: 'Remote backend token', description: REMOTE_TOKEN_SECRET, name: REMOTE_TOKEN_SECRET });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'AgentChord: Set API Key — which key (apiKeyEnv in agentchord.yaml)?',
  });
  return picked?.name;
}
