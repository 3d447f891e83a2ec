/**
 * Time-outs for awaited user code: tool handlers, environment methods, losses. A promise that never settles would
 * otherwise leave nothing for Node's event loop to wait on, and the CLI would exit 0 with nothing printed and the run
 * still marked running. The timer here keeps the process alive until it fires; the error names what did not answer
 * and the setting of agentchord.yaml that bounds it.
 *
 * Only promises can be timed out: code that blocks the event loop synchronously (an endless loop) cannot be
 * interrupted from inside the process.
 */

export class UserCodeTimeoutError extends Error {
  constructor(
    /** What did not answer, e.g. `tool "lookup_order"` or `environment env/user.ts: reset()`. */
    readonly what: string,
    readonly seconds: number,
    /** The system-file setting that bounds it, e.g. `tools.timeoutSeconds`. */
    readonly setting: string,
  ) {
    super(`${what} did not finish within ${seconds} s (the time-out is ${setting} in agentchord.yaml)`);
    this.name = 'UserCodeTimeoutError';
  }
}

export interface TimeoutOptions {
  seconds: number;
  what: string;
  setting: string;
  /** The caller's cancellation: rejects at once with its reason, without waiting for the code to notice. */
  signal?: AbortSignal;
}

/** setTimeout's longest delay (about 24.8 days); longer time-outs wait that long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `run` and waits for it at most `seconds`. `run` gets a signal that aborts on the time-out (and on the caller's
 * cancel), for code that can stop early; whatever it does, the returned promise settles in time.
 */
export function withTimeout<T>(run: (signal: AbortSignal) => T | PromiseLike<T>, o: TimeoutOptions): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => {
      controller.abort(o.signal!.reason);
      finish(() => reject(o.signal!.reason instanceof Error ? o.signal!.reason : new DOMException('cancelled', 'AbortError')));
    };
    const timer = setTimeout(() => {
      const error = new UserCodeTimeoutError(o.what, o.seconds, o.setting);
      controller.abort(error);
      finish(() => reject(error));
    }, Math.min(MAX_TIMER_MS, Math.max(0, o.seconds * 1000)));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let result: T | PromiseLike<T>;
    try {
      result = run(controller.signal);
    } catch (err) {
      return finish(() => reject(err));
    }
    Promise.resolve(result).then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}
