// The editor features of AgentChord: CodeLens on prompt files, token saliency, reviewable proposals.
import { registerCodeLens, type PromptCodeLensProvider } from './codelens/promptLens';
import type { Ctx } from './ctx';
import { lastProposalEdit, registerReview, reviewProposal } from './review/proposalReview';
import { registerSaliency, type BackendSource, type TokenSaliency } from './saliency/register';
import type { SystemWorkspace } from './systemWorkspace';

/** What the editor features add to the test API (see ./api.ts). */
export interface EditorApi {
  editor: {
    codeLens: PromptCodeLensProvider;
    /** Trace documents, prompt saliency, and `decorator.lastApplied` (ranges drawn per colour bucket). */
    saliency: TokenSaliency;
    reviewProposal: typeof reviewProposal;
    lastProposalEdit: typeof lastProposalEdit;
  };
}

export function registerEditorFeatures(ctx: Ctx, systems: SystemWorkspace, backend: BackendSource): EditorApi {
  const codeLens = registerCodeLens(ctx, systems);
  const saliency = registerSaliency(ctx, systems, backend);
  registerReview(ctx, systems);
  return { editor: { codeLens, saliency, reviewProposal, lastProposalEdit } };
}
