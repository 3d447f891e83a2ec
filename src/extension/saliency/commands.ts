/** Command ids of token saliency, shared with the CodeLens and the graph panel (no `vscode` import: cheap to import). */
export const SHOW_CALL_INPUT_COMMAND = 'agentchord.showCallInput';
export const SHOW_TOKEN_SALIENCY_COMMAND = 'agentchord.showTokenSaliency';
export const SALIENCY_GRANULARITY_COMMAND = 'agentchord.saliencyGranularity';
export const CLEAR_SALIENCY_COMMAND = 'agentchord.clearTokenSaliency';
/** Setting: how token saliency is grouped before colouring. */
export const GRANULARITY_SETTING = 'agentchord.saliency.granularity';

/** Arguments of `agentchord.showCallInput` (the graph panel sends them when an edge is clicked). */
export interface ShowCallInputArgs {
  runDir: string;
  callId: string;
  /** Which text of the call to open; default `input`. */
  part?: 'input' | 'output';
}
