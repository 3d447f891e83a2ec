import * as vscode from 'vscode';
import type { Ctx } from '../ctx';

/** Reports a step of a long job: shown in the progress notification and written to the AgentChord output channel. */
export type Report = (message: string, done?: number, total?: number) => void;

/** Jobs in flight (Run, Optimize, Attribute Last Run), so tests and deactivation can cancel them. */
export class Jobs implements vscode.Disposable {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly ctx: Ctx) {}

  /** Titles of the jobs running now. */
  get active(): string[] {
    return [...this.running.keys()];
  }

  /** Cancels every running job, as the notification's Cancel button does. */
  cancelAll(): void {
    for (const c of this.running.values()) c.abort(new Error('cancelled'));
  }

  /**
   * Runs `work` under a cancellable progress notification; Cancel aborts the AbortSignal handed to `work`.
   * Progress lines go to the output channel too (a LogOutputChannel), so a finished job leaves its trace.
   */
  run<T>(title: string, work: (signal: AbortSignal, report: Report) => Promise<T>): Thenable<T> {
    const log = this.ctx.log;
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `AgentChord: ${title}`, cancellable: true }, async (progress, token) => {
      const controller = new AbortController();
      const key = `${title} #${Date.now()}`;
      this.running.set(key, controller);
      const onCancel = token.onCancellationRequested(() => controller.abort(new Error('cancelled')));
      let lastFraction = 0;
      const report: Report = (message, done, total) => {
        log.info(`${title}: ${message}${total ? ` (${done ?? 0}/${total})` : ''}`);
        const fraction = total ? Math.min(1, (done ?? 0) / total) : undefined;
        // withProgress takes increments, not absolute values.
        const increment = fraction !== undefined && fraction > lastFraction ? (fraction - lastFraction) * 100 : undefined;
        if (fraction !== undefined) lastFraction = Math.max(lastFraction, fraction);
        progress.report({ message, ...(increment ? { increment } : {}) });
      };
      try {
        return await work(controller.signal, report);
      } finally {
        onCancel.dispose();
        this.running.delete(key);
      }
    });
  }

  dispose(): void {
    this.cancelAll();
  }
}
