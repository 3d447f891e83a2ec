/**
 * Starts a backend process: parses its command line, picks the device, and serves the protocol on stdio (default,
 * one client: the parent) or on TCP (`--listen`, any number of clients holding the bearer token).
 * The model loader is a parameter so tests can run the same process code with a fake model.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import {
  createMessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { defaultCacheDir } from '../runtime/graphCache';
import { parseDeviceChoice, selectDevice } from '../runtime/device';
import { serveConnection, type BackendContext } from './connection';
import { FrameGuard } from './frameGuard';
import { ModelRegistry, type ModelLoader } from './modelRegistry';

/**
 * What a TCP peer may do before and after it shows the token. Before: small frames (initialize is a few hundred
 * bytes), a few seconds, and only so many such peers at once; a peer breaking a limit is dropped.
 */
export interface TcpLimits {
  maxHeaderBytes: number;
  preAuthFrameBytes: number;
  maxFrameBytes: number;
  handshakeMs: number;
  maxUnauthenticated: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxHeaderBytes: 8 * 1024,
  preAuthFrameBytes: 1024 * 1024,
  maxFrameBytes: 256 * 1024 * 1024,
  handshakeMs: 5000,
  maxUnauthenticated: 16,
};

export const BACKEND_USAGE = `Usage: node dist/backend.js [--stdio | --listen [host:]port] [--device auto|cpu|cuda|webgpu] [--cache-dir dir]
  --stdio           serve JSON-RPC on stdin/stdout (default)
  --listen h:p      serve on TCP (host defaults to 127.0.0.1); clients must send the token from
                    AGENTCHORD_BACKEND_TOKEN, or the one printed to stderr at start-up. Not encrypted: to reach
                    another machine, listen on 127.0.0.1 there and use an SSH tunnel (ssh -L 7601:127.0.0.1:7601 host)
  --max-frame-mb N  largest message an authenticated TCP client may send (default ${DEFAULT_TCP_LIMITS.maxFrameBytes / 2 ** 20})
  --handshake-timeout S
                    seconds a TCP peer has to authenticate before it is dropped (default ${DEFAULT_TCP_LIMITS.handshakeMs / 1000})
  --device          default device for loaded models (default auto: CUDA, then WebGPU, then CPU)
  --cache-dir       compiled-graph cache (default $AGENTCHORD_CACHE or ~/.cache/agentchord)`;



const log = (message: string) => process.stderr.write(`[agentchord backend] ${message}\n`);

export function parseListen(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  const host = colon >= 0 ? value.slice(0, colon) || '127.0.0.1' : '127.0.0.1';
  const portText = colon >= 0 ? value.slice(colon + 1) : value;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`--listen: expected [host:]port, got '${value}'`);
  return { host, port };
}

/** Returns the exit code for start-up failures; on success the process lives until shutdown or the client leaves. */
export async function runBackend(argv: string[], loader: ModelLoader): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stdio: { type: 'boolean' },
        listen: { type: 'string' },
        device: { type: 'string', default: 'auto' },
        'cache-dir': { type: 'string' },
        'max-frame-mb': { type: 'string' },
        'handshake-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${BACKEND_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stderr.write(`${BACKEND_USAGE}\n`);
    return 0;
  }
  const choice = parseDeviceChoice(args.device ?? 'auto');
  if (!choice) {
    process.stderr.write(`--device: expected auto, cpu, cuda or webgpu, got '${args.device}'\n`);
    return 2;
  }
  if (args.stdio && args.listen !== undefined) {
    process.stderr.write('--stdio and --listen exclude each other\n');
    return 2;
  }
  const limits = { ...DEFAULT_TCP_LIMITS };
  for (const [flag, set] of [
    ['max-frame-mb', (v: number) => (limits.maxFrameBytes = v * 2 ** 20)],
    ['handshake-timeout', (v: number) => (limits.handshakeMs = v * 1000)],
  ] as const) {
    const text = args[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (!(value > 0) || !Number.isFinite(value)) {
      process.stderr.write(`--${flag}: expected a positive number, got '${text}'\n`);
      return 2;
    }
    set(value);
  }
  let listen: { host: string; port: number } | undefined;
  try {
    listen = args.listen !== undefined ? parseListen(args.listen) : undefined;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }

  // On stdio, stdout carries the protocol: anything a library prints with console.log must go to stderr instead.
  console.log = console.info = console.warn = console.debug = console.error;

  // ORT's own log repeats, at length, why a GPU provider failed to load; selectDevice logs it in one line.
  ort.env.logLevel = 'fatal';
  const cacheDir = args['cache-dir'] ?? defaultCacheDir();
  let selection;
  try {
    selection = await selectDevice(choice, log, { cacheDir });
  } catch (err) {
    log((err as Error).message);
    return 1;
  }
  const registry = new ModelRegistry(loader, { cacheDir, log });
  let shuttingDown = false;
  const context: BackendContext = {
    registry,
    device: selection,
    startedAt: Date.now(),
    inFlight: new Set(),
    log,
    shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      log('shutting down');
      void registry.disposeAll().finally(() => process.exit(0));
    },
  };

  if (!listen) {
    const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
    serveConnection(connection, context);
    // The parent went away (stdin closed): nobody is left to serve.
    connection.onClose(() => context.shutdown());
    connection.listen();
    log(`serving on stdio (pid ${process.pid}, device ${selection.device})`);
    return 0;
  }

  let token = process.env.AGENTCHORD_BACKEND_TOKEN;
  if (!token) {
    token = randomBytes(24).toString('base64url');
    process.stderr.write(`AGENTCHORD_BACKEND_TOKEN=${token}\n`);
  }
  const { port } = await listenTcp(context, { ...listen, token, limits });
  log(`listening on ${listen.host}:${port} (pid ${process.pid}, device ${selection.device})`);
  return 0;
}

export interface TcpServeOptions {
  host: string;
  port: number;
  /** The bearer token initialize must carry; undefined only for `agentchord serve --insecure-no-token` on loopback. */
  token: string | undefined;
  limits: TcpLimits;
  /** PEM certificate chain and key: serve TLS (node:tls) instead of plain TCP. */
  tls?: { cert: Buffer; key: Buffer };
  /** Structured connection events (opened, closed, refused); default: the context's log line. */
  onConnection?: (event: { connection: string; event: string; detail?: string; remote?: string }) => void;
}

/**
 * Serves the protocol on TCP or TLS, each socket one connection with its own pre-authentication limits. Shared by
 * `backend.js --listen` and `agentchord serve`. Resolves once listening, with the port (0 picks one).
 */
export async function listenTcp(context: BackendContext, options: TcpServeOptions): Promise<{ server: NetServer; port: number; closeConnections(): void }> {
  const { limits } = options;
  const unauthenticated = new Set<Socket>();
  const open = new Set<Socket>();
  let nextId = 0;
  const note = (connection: string, event: string, detail?: string, remote?: string) =>
    options.onConnection ? options.onConnection({ connection, event, ...(detail ? { detail } : {}), ...(remote ? { remote } : {}) }) : context.log(`${event}${detail ? `: ${detail}` : ''}`);
  const onSocket = (socket: Socket) => {
    const connectionId = `c${++nextId}`;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', (err) => note(connectionId, 'connection error', err.message));
    if (unauthenticated.size >= limits.maxUnauthenticated) {
      note(connectionId, 'refused a TCP connection', `${limits.maxUnauthenticated} connections are already waiting to authenticate`);
      socket.destroy();
      return;
    }
    unauthenticated.add(socket);
    let authenticated = false;
    const drop = (why: string) => {
      note(connectionId, 'closed a TCP connection', why);
      socket.destroy();
    };
    const handshake = setTimeout(() => drop(`no valid initialize within ${limits.handshakeMs / 1000} s`), limits.handshakeMs);
    // Registered before the JSON-RPC reader's listener, so that a frame over the limit is refused before it is buffered.
    const guard = new FrameGuard({ maxHeaderBytes: limits.maxHeaderBytes, maxFrameBytes: () => (authenticated ? limits.maxFrameBytes : limits.preAuthFrameBytes) });
    socket.on('data', (chunk: Buffer) => {
      const problem = guard.push(chunk);
      if (problem) drop(`the peer sent ${problem}`);
    });
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    const authenticate = () => {
      authenticated = true;
      unauthenticated.delete(socket);
      clearTimeout(handshake);
      options.onConnection?.({ connection: connectionId, event: 'connection authenticated', ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
    };
    serveConnection(
      connection,
      context,
      options.token === undefined
        ? { connectionId, token: '', noToken: true, close: () => socket.destroy(), authenticated: authenticate }
        : { connectionId, token: options.token, close: () => socket.destroy(), authenticated: authenticate },
    );
    // Whatever the reader buffered goes with the connection.
    socket.on('close', () => {
      unauthenticated.delete(socket);
      clearTimeout(handshake);
      connection.dispose();
      if (authenticated) options.onConnection?.({ connection: connectionId, event: 'connection closed' });
    });
    connection.listen();
  };
  const server: NetServer = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: limits.handshakeMs }, onSocket)
    : createServer(onSocket);
  if (options.tls) server.on('tlsClientError', (err: Error) => note('-', 'TLS handshake failed', err.message));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : options.port,
    closeConnections: () => {
      for (const socket of open) socket.destroy();
    },
  };
}
