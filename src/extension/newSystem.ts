import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { SYSTEM_FILE_NAME } from '../core/system';
import { ENDPOINT_SURROGATE, scaffoldSystem, type ScaffoldTemplate } from '../core/system/scaffold';
import type { Ctx } from './ctx';
import { requireTrust } from './trust';


/** Arguments that let tests and other commands run "New System" without any prompt. */
export interface NewSystemArgs {
  /** The new system's folder: absolute, or relative to the first workspace folder. */
  folder?: string | vscode.Uri;
  /** The system's `name:`; defaults to the folder's name. */
  name?: string;
  /** Which scaffold; asked for with a quick pick when neither this nor `folder` is given, else 'offline'. */
  template?: ScaffoldTemplate;
}

/**
 * Writes a small working system (the core's scaffold) into a new folder and opens its system file.
 * Refuses, writing nothing, when any of the files already exists. Returns the system file, or undefined if cancelled.
 */
export async function newSystem(ctx: Ctx, args: NewSystemArgs = {}): Promise<vscode.Uri | undefined> {
  if (!requireTrust('New System', 'it writes files into this workspace')) return undefined;
  const template = args.template ?? (args.folder !== undefined ? 'offline' : await chooseTemplate());
  if (!template) return undefined;
  const folder = await chooseFolder(args.folder);
  if (!folder) return undefined;
  const name = args.name ?? basename(folder);
  let retrievalModel: string | undefined;
  if (template === 'offline') {
    // The chord-retrieval model packaged with the extension (models/ ships in the VSIX).
    retrievalModel = join(ctx.extension.extensionPath, 'models', 'chord-retrieval');
    if (!existsSync(join(retrievalModel, 'config.json'))) {
      const message = `AgentChord: the offline template needs the embedded model ${retrievalModel}, which is missing from this installation; choose the endpoint template.`;
      void vscode.window.showErrorMessage(message);
      ctx.log.warn(message);
      return undefined;
    }
  }
  const files = scaffoldSystem({ name, template, retrievalModel }).map((f) => ({ ...f, absolute: join(folder, f.path) }));

  const clash = files.find((f) => existsSync(f.absolute));
  if (clash) {
    const message = `AgentChord: not creating a system in ${folder}: ${clash.path} already exists there (nothing was written).`;
    void vscode.window.showErrorMessage(message);
    ctx.log.warn(message);
    return undefined;
  }
  for (const f of files) await writeNewFile(f.absolute, f.content);
  ctx.log.info(`created system '${name}' in ${folder} (${files.length} files)`);

  const systemFile = vscode.Uri.file(join(folder, SYSTEM_FILE_NAME));
  await vscode.window.showTextDocument(systemFile, { preview: false });
  return systemFile;
}

async function chooseTemplate(): Promise<ScaffoldTemplate | undefined> {
  const items: Array<vscode.QuickPickItem & { template: ScaffoldTemplate }> = [
    {
      label: 'Offline demo',
      description: 'runs now: no API key, no download',
      detail: 'Three replayed reporters and an answerer on the embedded chord-retrieval model; real connection weights on the first run.',
      template: 'offline',
    },
    {
      label: 'OpenAI-compatible endpoint',
      description: 'your own agents',
      detail: `Researcher -> critic -> writer on an endpoint (OPENAI_API_KEY), attributed on ${ENDPOINT_SURROGATE} (agentchord model pull ${ENDPOINT_SURROGATE}).`,
      template: 'endpoint',
    },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'AgentChord: New System — template', placeHolder: 'Which kind of system?' });
  return picked?.template;
}

/** The folder from the argument, else asked for: a name under the first workspace folder, else a folder picker. */
async function chooseFolder(given: string | vscode.Uri | undefined): Promise<string | undefined> {
  const root = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
  if (given !== undefined) {
    const path = typeof given === 'string' ? given : given.fsPath;
    if (isAbsolute(path)) return path;
    if (!root) throw new Error(`AgentChord: New System got the relative folder '${path}' but no workspace folder is open.`);
    return resolve(root, path);
  }
  if (!root) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Create System Here',
      title: 'AgentChord: New System — choose an empty folder',
    });
    return picked?.[0]?.fsPath;
  }
  const answer = await vscode.window.showInputBox({
    title: 'AgentChord: New System',
    prompt: `Folder for the new system, relative to ${basename(root)}`,
    value: 'my-system',
    validateInput: (value) => {
      const trimmed = value.trim();
      if (!trimmed) return 'Enter a folder name.';
      if (existsSync(join(resolve(root, trimmed), SYSTEM_FILE_NAME))) return `${trimmed}/${SYSTEM_FILE_NAME} already exists.`;
      return undefined;
    },
  });
  return answer?.trim() ? resolve(root, answer.trim()) : undefined;
}

/** Writes through a temp file and a rename, so a crash never leaves a half-written file behind. */
async function writeNewFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { flag: 'wx' });
  await rename(temp, path);
}
