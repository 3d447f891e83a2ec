/**
 * The attribution backend as a long-lived service (`agentchord serve`, for a GPU host): TCP or TLS, a bearer token,
 * models resolved by name on this machine, one JSON object per line of log on stderr, and a graceful shutdown on
 * SIGTERM (stop accepting, let requests in flight finish for a grace period, cancel the rest, exit 0).
 * The same connection handlers as the stdio backend (./connection.ts); only the process around them differs.
 */
import * as ort from 'onnxruntime-node';
import { version } from '../../../package.json';
import type { DeviceChoice } from '../../protocol/attribution';
import { modelsDir as pulledModelsDir } from '../../shared/modelCache';
import { selectDevice } from '../runtime/device';
import type { BackendContext } from './connection';
import { modelNameResolver } from './modelNames';
import { ModelRegistry, type ModelLoader } from './modelRegistry';
import { DEFAULT_TCP_LIMITS, listenTcp } from './startBackend';

export interface ServiceConfig {
  host: string;
  port: number;
  device: DeviceChoice;
  modelsDir: string;
  cacheDir: string;
  /** undefined only with --insecure-no-token on a loopback address (checked by the caller). */
  token: string | undefined;
  tls?: { cert: Buffer; key: Buffer };
  /** How long SIGTERM waits for requests in flight before cancelling them. */
  graceMs: number;
  /** Called once listening (tests and the CLI's start-up line use the port). */
  onListening?: (port: number) => void;
  /** Where log lines go; default stderr. */
  write?: (line: string) => void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One JSON object per line. Callers never pass the token; `token`-like keys are dropped anyway, as a second guard. */
export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)) {
  return (level: LogLevel, event: string, fields: Record<string, unknown> = {}) => {
    const safe = Object.fromEntries(Object.entries(fields).filter(([k]) => !/token|secret|authorization/i.test(k)));
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...safe }) + '\n');
  };
}

export interface RunningService {
  port: number;
  /** Stop accepting, wait for requests in flight up to graceMs, cancel the rest, release the models. */
  drain(): Promise<void>;
}

export async function startService(config: ServiceConfig, loader: ModelLoader): Promise<RunningService> {
  const log = jsonLogger(config.write);
  // ORT's own log repeats, at length, why a GPU provider failed to load; selectDevice says it in one line.
  ort.env.logLevel = 'fatal';
  const text = (message: string) => log('info', 'backend', { message });
  const selection = await selectDevice(config.device, text, { cacheDir: config.cacheDir });
  const registry = new ModelRegistry(loader, { cacheDir: config.cacheDir, log: text });
  const context: BackendContext = {
    registry,
    device: selection,
    startedAt: Date.now(),
    inFlight: new Set(),
    log: text,
    // Repository ids resolve through src/shared/modelCache.ts (modelFolder), the folders `agentchord model pull` writes.
    resolveModel: modelNameResolver({ modelsDir: config.modelsDir, cacheDir: pulledModelsDir() }),
    onRequest: (e) => log(e.ok ? 'info' : 'warn', 'request', e),
    // A shutdown request from a client (the protocol's `shutdown`) drains like SIGTERM.
    shutdown: () => void drain().then(() => process.exit(0)),
  };
  const { server, port, closeConnections } = await listenTcp(context, {
    host: config.host,
    port: config.port,
    token: config.token,
    limits: DEFAULT_TCP_LIMITS,
    tls: config.tls,
    onConnection: (e) => log(e.event.includes('error') || e.event.includes('refused') || e.event.includes('failed') ? 'warn' : 'info', e.event, e),
  });
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      context.draining = true;
      log('info', 'draining', { inFlight: context.inFlight.size, graceMs: config.graceMs });
      // Stop accepting; open connections stay until their requests are answered (new ones get ShuttingDown).
      server.close();
      const started = Date.now();
      while (context.inFlight.size > 0 && Date.now() - started < config.graceMs) await new Promise((r) => setTimeout(r, 50));
      const cancelled = context.inFlight.size;
      for (const abort of context.inFlight) abort.abort();
      // Cancelled requests answer RequestCancelled once the runtime notices the signal; give the replies a moment.
      const waitFrom = Date.now();
      while (context.inFlight.size > 0 && Date.now() - waitFrom < 2000) await new Promise((r) => setTimeout(r, 20));
      closeConnections();
      await registry.disposeAll();
      log('info', 'stopped', { cancelled, uptimeSeconds: (Date.now() - context.startedAt) / 1000 });
    })());
  log('info', 'listening', {
    host: config.host,
    port,
    tls: config.tls !== undefined,
    authentication: config.token === undefined ? 'none (--insecure-no-token)' : 'bearer token',
    device: selection.device,
    providers: selection.providers,
    ...(selection.reason ? { reason: selection.reason } : {}),
    modelsDir: config.modelsDir,
    version,
    pid: process.pid,
  });
  config.onListening?.(port);
  return { port, drain };
}
