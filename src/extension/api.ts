import type { CommandsApi } from './commands';
import type { SystemDiagnostics } from './diagnostics';
import type { EditorApi } from './editorFeatures';
import type { SystemsTreeProvider } from './systemsView';
import type { SystemWorkspace } from './systemWorkspace';

/**
 * What `activate()` returns (`vscode.extensions.getExtension('agentchord.agentchord').exports`).
 * Meant for the extension-host tests and for other extensions; not a stable public API yet.
 */
export interface AgentChordApi extends CommandsApi, EditorApi {
  /** The workspace's systems and their load results; `settled()` waits for pending validation. */
  systems: SystemWorkspace;
  /** The Systems view's data: `getChildren()` gives systems, `getChildren(system)` its agents. */
  systemsView: SystemsTreeProvider;
  diagnostics: SystemDiagnostics;
  /** Resolves when the first workspace scan has finished. */
  ready: Promise<void>;
}
