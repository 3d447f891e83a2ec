/** Setting: how token saliency is grouped before colouring. */
export const GRANULARITY_SETTING = 'agentchord.saliency.granularity';

/** Arguments of `agentchord.showCallInput` (the graph panel sends them when an edge is clicked). */
export interface ShowCallInputArgs {
  runDir: string;
  callId: string;
  /** Which text of the call to open; default `input`. */
  part?: 'input' | 'output';
}
