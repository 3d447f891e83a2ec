import type { BackendService } from './backend/backendService';
import type { PromptCodeLensProvider } from './codelens/promptLens';
import type { Jobs } from './commands/job';
import type { SystemDiagnostics } from './diagnostics';
import type { lastProposalEdit, reviewProposal } from './review/proposalReview';
import type { RunStore } from './runs/runStore';
import type { TokenSaliency } from './saliency/register';
import type { SystemsTreeProvider } from './systemsView';
import type { SystemWorkspace } from './systemWorkspace';

/**
 * What `activate()` returns (`vscode.extensions.getExtension('agentchord.agentchord').exports`).
 * Meant for the extension-host tests and for other extensions; not a stable public API yet.
 */
export interface AgentChordApi {
  /** The workspace's systems and their load results; `settled()` waits for pending validation. */
  systems: SystemWorkspace;
  /** The Systems view's data: `getChildren()` gives systems, `getChildren(system)` its agents. */
  systemsView: SystemsTreeProvider;
  diagnostics: SystemDiagnostics;
  /** Resolves when the first workspace scan has finished. */
  ready: Promise<void>;
  /** Run folders of the workspace's systems and the onRunFinished event. */
  runs: RunStore;
  /** The attribution backend process: state, status, pid, restart. */
  backend: BackendService;
  /** Long jobs in flight; `cancelAll()` does what the progress notification's Cancel does. */
  jobs: Jobs;
  editor: {
    codeLens: PromptCodeLensProvider;
    /** Trace documents, prompt saliency, and `decorator.lastApplied` (ranges drawn per colour bucket). */
    saliency: TokenSaliency;
    reviewProposal: typeof reviewProposal;
    lastProposalEdit: typeof lastProposalEdit;
  };
}
