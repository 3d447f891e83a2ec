/**
 * Where pulled models live (`agentchord model pull`), and how a repository id written in agentchord.yaml
 * (`path: Qwen/Qwen3-0.6B` or `Qwen/Qwen3-0.6B@v1`) names a folder there. In src/shared because both sides need it:
 * src/core resolves repository ids while validating a system file, src/backend downloads into the same folders.
 *
 * Layout: <models dir>/<org>/<name>/<revision>/ holding the repository's files, plus PULL_RECORD once a pull
 * completed. The models dir is $AGENTCHORD_MODELS, else ${AGENTCHORD_CACHE:-~/.cache/agentchord}/models.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Written last by a pull (JSON: repo, revision, commit, files, bytes, pulledAt): a folder without it is incomplete. */
export const PULL_RECORD = '.agentchord-pull.json';

export const DEFAULT_REVISION = 'main';

/** The folder pulled models go to. */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTCHORD_MODELS) return resolve(env.AGENTCHORD_MODELS);
  return resolve(env.AGENTCHORD_CACHE || join(homedir(), '.cache', 'agentchord'), 'models');
}

/** The hub's own rule for repository names (letters, digits, '-', '_', '.'; no '--' or '..' and no leading '.'/'-'). */
const NAME_PART = '[A-Za-z0-9](?:[\\w.-]*[A-Za-z0-9_])?';
const REPO_ID = new RegExp(`^(${NAME_PART})/(${NAME_PART})$`);
/** Branch, tag or commit: git ref characters, '/' allowed (refs/pr/1), no '..'. */
const REVISION = /^[\w.][\w./-]*$/;

export interface ModelRef {
  /** "org/name" */
  repo: string;
  revision: string;
}

/** "org/name" as a repository id, or undefined when it is not one. */
export function isRepoId(text: string): boolean {
  return REPO_ID.test(text) && !text.includes('..') && !text.includes('--');
}

export function isRevision(text: string): boolean {
  return REVISION.test(text) && !text.includes('..') && !text.endsWith('/');
}

/** "org/name" or "org/name@revision" as a model reference; undefined when the text is not of that form. */
export function parseModelRef(text: string): ModelRef | undefined {
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : text.slice(at + 1);
  if (!isRepoId(repo) || !isRevision(revision)) return undefined;
  return { repo, revision };
}

/** The folder of one pulled repository and revision (revisions such as "refs/pr/1" become one folder name). */
export function modelFolder(repo: string, revision: string = DEFAULT_REVISION, dir: string = modelsDir()): string {
  return join(dir, ...repo.split('/'), revision.replaceAll('/', '--'));
}
