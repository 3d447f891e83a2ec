import { resolve } from 'node:path';

/** Root of the repository: tests are bundled into other folders, so they find it from here rather than __dirname. */
export const REPO_ROOT = process.env.AGENTCHORD_REPO ?? process.cwd();
/** The shared data/models folder beside the checkout (`../shared`). */
export const SHARED = process.env.AGENTCHORD_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const repoPath = (...parts: string[]) => resolve(REPO_ROOT, ...parts);
export const sharedPath = (...parts: string[]) => resolve(SHARED, ...parts);
