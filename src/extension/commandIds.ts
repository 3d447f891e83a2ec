/**
 * Every command of the extension, by id: package.json's `contributes.commands` and the internal ones the extension-host
 * tests use. extension.ts maps each to its handler in one table (TypeScript checks that none is missing); the manifest
 * test compares this list with package.json. No `vscode` import, so plain unit tests can read it.
 */
export const COMMANDS = {
  newSystem: 'agentchord.newSystem',
  refreshSystems: 'agentchord.refreshSystems',
  optimize: 'agentchord.optimize',
  run: 'agentchord.run',
  attributeLastRun: 'agentchord.attributeLastRun',
  importTrace: 'agentchord.importTrace',
  blameRun: 'agentchord.blameRun',
  downloadModel: 'agentchord.downloadModel',
  setApiKey: 'agentchord.setApiKey',
  selectAttributionDevice: 'agentchord.selectAttributionDevice',
  showBackendStatus: 'agentchord.showBackendStatus',
  showTokenSaliency: 'agentchord.showTokenSaliency',
  saliencyGranularity: 'agentchord.saliencyGranularity',
  clearTokenSaliency: 'agentchord.clearTokenSaliency',
  showCallInput: 'agentchord.showCallInput',
  reviewProposal: 'agentchord.reviewProposal',
  showAgentTrajectories: 'agentchord.showAgentTrajectories',
  openGraph: 'agentchord.openGraph',
  installGpuRuntime: 'agentchord.installGpuRuntime',
  gpuStatus: 'agentchord.gpuStatus',
  /** Not for users: the extension-host tests read the open graph panel's last state through it. */
  graphProbe: 'agentchord.graph.probe',
} as const;

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Commands that package.json does not contribute (tests only). */
export const INTERNAL_COMMANDS: readonly CommandId[] = [COMMANDS.graphProbe];
