import * as vscode from 'vscode';
import { RunFolder, type RunFolderContents } from '../../core/engine/runFolder';
import type { CallPart } from '../pure/saliency/tokenAlign';

/** Read-only documents of a run's agent calls: `agentchord-trace:/<runId>/<callId>/<input|output>?<runDir>`. */
export const TRACE_SCHEME = 'agentchord-trace';

export interface TraceRef {
  runDir: string;
  callId: string;
  part: CallPart;
}

export function traceUri(ref: TraceRef): vscode.Uri {
  const runId = ref.runDir.split(/[\\/]/).filter(Boolean).at(-1) ?? 'run';
  // The run folder travels in the query (a path holds slashes); the path is what the tab shows.
  return vscode.Uri.from({ scheme: TRACE_SCHEME, path: `/${runId}/${ref.callId}/${ref.part}`, query: ref.runDir });
}

export function parseTraceUri(uri: vscode.Uri): TraceRef | undefined {
  if (uri.scheme !== TRACE_SCHEME) return undefined;
  const segments = uri.path.split('/').filter(Boolean);
  const part = segments.at(-1);
  if (segments.length < 3 || (part !== 'input' && part !== 'output') || !uri.query) return undefined;
  return { runDir: uri.query, callId: segments.slice(1, -1).join('/'), part };
}

/**
 * Serves trace documents from run folders (read once per run and cached; a finished or re-attributed run is re-read
 * on `refresh`). The documents are read-only: VS Code never lets a content provider's document be edited.
 */
export class TraceDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly runs = new Map<string, RunFolderContents>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  /** A run's contents (cached). Throws with the folder named when it is not a run folder. */
  run(runDir: string): RunFolderContents {
    let contents = this.runs.get(runDir);
    if (!contents) {
      contents = RunFolder.open(runDir).read();
      this.runs.set(runDir, contents);
    }
    return contents;
  }

  /** Forgets a run's cached contents and tells VS Code its open trace documents changed. */
  refresh(runDir: string): void {
    if (!this.runs.delete(runDir)) return;
    for (const doc of vscode.workspace.textDocuments) {
      if (parseTraceUri(doc.uri)?.runDir === runDir) this.changed.fire(doc.uri);
    }
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const ref = parseTraceUri(uri);
    if (!ref) throw new Error(`not an AgentChord trace: ${uri.toString()}`);
    const call = this.run(ref.runDir).calls.find((c) => c.id === ref.callId);
    if (!call) throw new Error(`${ref.runDir}: no call ${ref.callId} in calls.jsonl`);
    return ref.part === 'input' ? call.renderedInput : call.output || call.toolCalls.map((c) => `${c.name}(${c.arguments})`).join('\n');
  }

  dispose(): void {
    this.changed.dispose();
    this.runs.clear();
  }
}
