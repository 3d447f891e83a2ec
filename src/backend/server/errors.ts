/** Turns what handlers throw into JSON-RPC errors the client can act on (see BackendErrorCodes). */
import { ResponseError } from 'vscode-jsonrpc';
import { BackendErrorCodes, type BackendErrorData } from '../../protocol/backend';
import { DeviceUnavailableError } from '../runtime/device';
import { ModelError } from '../errors';

/** A bad request parameter; `field` is its JSON path (e.g. `request.spans[0].start`, `modelId`). */
export class InvalidParamsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidParamsError';
  }
}

export function toResponseError(err: unknown, signal?: AbortSignal): ResponseError<BackendErrorData | undefined> {
  if (err instanceof ResponseError) return err;
  if (err instanceof InvalidParamsError) return new ResponseError(BackendErrorCodes.InvalidParams, err.message, { field: err.field });
  if (err instanceof DeviceUnavailableError) return new ResponseError(BackendErrorCodes.InvalidParams, `device: ${err.message}`, { field: 'device' });
  if (err instanceof ModelError) return new ResponseError(BackendErrorCodes.ModelError, err.message, undefined);
  // The runtime reports bad request values (generate options, attribution ranges) as RangeErrors naming the field.
  if (err instanceof RangeError) return new ResponseError(BackendErrorCodes.InvalidParams, err.message, undefined);
  if (signal?.aborted || (err instanceof Error && err.name === 'AbortError')) {
    return new ResponseError(BackendErrorCodes.RequestCancelled, 'request cancelled', undefined);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ResponseError(-32603, `internal backend error: ${message}`, undefined);
}

// Small checks for request parameters that are not attribution requests (those go through validateAttributionRequest).

export function requireObject(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidParamsError('params', 'expected an object');
  return params as Record<string, unknown>;
}

export function requireString(params: Record<string, unknown>, field: string): string {
  const value = params[field];
  if (typeof value !== 'string' || value === '') throw new InvalidParamsError(field, `expected a non-empty string, got ${JSON.stringify(value) ?? 'nothing'}`);
  return value;
}
