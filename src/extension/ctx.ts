import * as vscode from 'vscode';

/**
 * The extension's one context object: everything that must be undone on deactivation is registered here
 * (in the style of rust-analyzer's `Ctx`), so features never manage `context.subscriptions` themselves.
 */
export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly owned: vscode.Disposable[] = [];
  private disposed = false;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = this.own(vscode.window.createOutputChannel('AgentChord', { log: true }));
  }

  /** Takes ownership of a disposable; it is disposed (in reverse order) with the context. */
  own<T extends vscode.Disposable>(disposable: T): T {
    if (this.disposed) {
      disposable.dispose();
    } else {
      this.owned.push(disposable);
    }
    return disposable;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.owned.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (err) {
        console.error('AgentChord: dispose failed', err);
      }
    }
  }
}
