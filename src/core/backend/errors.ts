/** Errors a BackendClient call can fail with; each says what happened in words a user can act on. */

/** The backend answered with a JSON-RPC error (bad parameter, model error, protocol mismatch...). */
export class BackendRequestError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    /** JSON path of the parameter at fault, when the backend named one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'BackendRequestError';
  }
}

/** The backend process died (or the TCP connection dropped) while the request was in flight. */
export class BackendCrashedError extends Error {
  constructor(
    message: string,
    /** The backend's last stderr lines, oldest first: usually the reason. */
    readonly stderrTail: string[],
  ) {
    super(stderrTail.length ? `${message}\nlast backend output:\n${stderrTail.join('\n')}` : message);
    this.name = 'BackendCrashedError';
  }
}

export class BackendTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`backend request '${method}' timed out after ${timeoutMs} ms (it was cancelled)`);
    this.name = 'BackendTimeoutError';
  }
}

/** Thrown when the caller's AbortSignal fires; name 'AbortError' like fetch's. */
export class BackendAbortError extends Error {
  constructor(readonly method: string) {
    super(`backend request '${method}' was cancelled`);
    this.name = 'AbortError';
  }
}
