/** The system file (`agentchord.yaml`): loading, validation and discovery. No `vscode` import. */
export * from './types';
export { loadSystemFromText, loadSystemFile } from './load';
export { nodeFileHost, SYSTEM_FILE_NAME, findSystemFiles } from './files';
export { formatProblem } from './problems';
