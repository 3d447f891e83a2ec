/**
 * Client of the attribution backend process, used by the engine, the CLI and the extension (no `vscode` here).
 *
 * It spawns `node dist/backend.js --stdio` (or connects to a backend started with `--listen`), performs the
 * initialize handshake, and offers one typed method per protocol request, each with a time-out and an optional
 * AbortSignal (cancellation is sent to the backend as `$/cancelRequest`). When the backend dies, calls in flight
 * fail with BackendCrashedError carrying its last stderr lines, and the client restarts it after an exponentially
 * growing delay (up to maxRestarts times in a row), then reloads the models that were loaded, whose ids stay valid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CancellationTokenSource,
  createMessageConnection,
  Emitter,
  ErrorCodes,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type Event,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import type { AttributionRequest, AttributionResult, GenerateResult } from '../../protocol/attribution';
import {
  AttributeBatchRequest,
  AttributeRequest,
  BackendErrorCodes,
  BackendStatusRequest,
  GenerateRequest,
  GenerateTokenNotification,
  InitializeRequest,
  LoadModelRequest,
  PROTOCOL_VERSION,
  type RenderChatParams,
  RenderChatRequest,
  ShutdownRequest,
  StatusRequest,
  TokenizeRequest,
  UnloadModelRequest,
  type GenerateParams,
  type InitializeResult,
  type LoadModelParams,
  type LoadModelResult,
  type StatusResult,
  type BackendStatusResult,
  type TokenizeParams,
  type TokenizeResult,
} from '../../protocol/backend';
import { BackendAbortError, BackendCrashedError, BackendRequestError, BackendTimeoutError } from './errors';

export interface BackendClientOptions {
  /** The backend bundle to spawn. Default: backend.js beside the running bundle (dist/). */
  backendPath?: string;
  /** Default: the Node running this process. */
  nodePath?: string;
  /** Extra backend arguments, e.g. ['--device', 'cpu', '--cache-dir', dir]. */
  backendArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Connect to a backend started with --listen or `agentchord serve` instead of spawning one. `tls`: the server's
   * certificate is verified (against `ca`, PEM, when given; else the system's CAs); it is never switched off.
   * `token` may be empty only for a loopback `serve --insecure-no-token`.
   */
  connect?: { host: string; port: number; token: string; tls?: { ca?: string | Buffer } };
  clientName?: string;
  /** Per-request time-out unless a call gives its own. Default 10 minutes. */
  requestTimeoutMs?: number;
  /** Spawn/connect plus initialize. Default 60 s. */
  startTimeoutMs?: number;
  /** Restarts in a row before giving up (a backend that stays up stableAfterMs resets the count). Default 3. */
  maxRestarts?: number;
  /** Delay before the first restart; doubled for each further one, at most 30 s. Default 500 ms. */
  restartDelayMs?: number;
  stableAfterMs?: number;
  /** How long dispose() waits after the shutdown request before killing the process. Default 3 s. */
  shutdownGraceMs?: number;
  /** How many stderr lines to keep for crash reports. Default 50. */
  stderrLines?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface BackendExit {
  code: number | null;
  signal: string | null;
  /** True when dispose() ended it. */
  expected: boolean;
  willRestart: boolean;
  stderrTail: string[];
}

interface Session {
  connection: MessageConnection;
  child?: ChildProcess;
  socket?: Socket;
  startedAt: number;
  /** Set when we end the session on purpose (dispose, failed handshake). */
  expectedExit: boolean;
  /** Resolves with the crash error once the process/socket is gone. */
  ended: Promise<BackendCrashedError>;
}

interface Pending {
  fail(err: Error): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class BackendClient {
  private readonly options: Required<Omit<BackendClientOptions, 'connect' | 'env' | 'backendPath'>> & BackendClientOptions;
  private session: Session | undefined;
  private ready: Promise<InitializeResult> | undefined;
  private fatal: Error | undefined;
  private disposed = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private cancelRestart: (() => void) | undefined;
  private readonly pending = new Set<Pending>();
  private readonly stderr: string[] = [];
  /** Models to reload after a restart, by id. */
  private readonly models = new Map<string, LoadModelParams>();
  private readonly streams = new Map<string, (id: number, text: string) => void>();
  private nextStream = 0;
  private readonly exitEmitter = new Emitter<BackendExit>();
  private readonly stderrEmitter = new Emitter<string>();
  private readonly restartedEmitter = new Emitter<InitializeResult>();
  private lastInfo: InitializeResult | undefined;

  /** The backend ended (crash or dispose). */
  readonly onExit: Event<BackendExit> = this.exitEmitter.event;
  /** One line of the backend's stderr (its log). */
  readonly onStderr: Event<string> = this.stderrEmitter.event;
  /** A crashed backend is back (handshake done, models reloaded). */
  readonly onRestarted: Event<InitializeResult> = this.restartedEmitter.event;

  constructor(options: BackendClientOptions = {}) {
    this.options = {
      nodePath: process.execPath,
      backendArgs: [],
      clientName: 'agentchord',
      requestTimeoutMs: 10 * 60_000,
      startTimeoutMs: 60_000,
      maxRestarts: 3,
      restartDelayMs: 500,
      stableAfterMs: 60_000,
      shutdownGraceMs: 3000,
      stderrLines: 50,
      ...options,
    };
  }

  /** The backend's last stderr lines, oldest first. */
  get stderrTail(): string[] {
    return [...this.stderr];
  }

  /** The handshake result of the running backend. */
  get info(): InitializeResult | undefined {
    return this.lastInfo;
  }

  /** Starts the backend (if not yet) and resolves after the handshake. Calls start it implicitly. */
  start(): Promise<InitializeResult> {
    if (this.disposed) return Promise.reject(new Error('the backend client was disposed'));
    if (this.fatal) return Promise.reject(this.fatal);
    this.ready ??= this.launch();
    return this.ready;
  }

  // ---- protocol methods ----

  async loadModel(params: LoadModelParams, options?: CallOptions): Promise<LoadModelResult> {
    const result = await this.call(LoadModelRequest, params, options);
    this.models.set(result.modelId, params);
    return result;
  }

  async unloadModel(modelId: string, options?: CallOptions): Promise<boolean> {
    this.models.delete(modelId);
    return (await this.call(UnloadModelRequest, { modelId }, options)).unloaded;
  }

  tokenize(params: TokenizeParams, options?: CallOptions): Promise<TokenizeResult> {
    return this.call(TokenizeRequest, params, options);
  }

  async renderChat(params: RenderChatParams, options?: CallOptions): Promise<string> {
    return (await this.call(RenderChatRequest, params, options)).text;
  }

  /** onToken receives each new token as the backend produces it. */
  async generate(
    params: Omit<GenerateParams, 'streamHandle'>,
    options: CallOptions & { onToken?: (id: number, text: string) => void } = {},
  ): Promise<GenerateResult> {
    if (!options.onToken) return this.call(GenerateRequest, params, options);
    const handle = `generate-${++this.nextStream}`;
    this.streams.set(handle, options.onToken);
    try {
      return await this.call(GenerateRequest, { ...params, streamHandle: handle }, options);
    } finally {
      this.streams.delete(handle);
    }
  }

  attribute(modelId: string, request: AttributionRequest, options?: CallOptions): Promise<AttributionResult> {
    return this.call(AttributeRequest, { modelId, request }, options);
  }

  attributeBatch(modelId: string, requests: AttributionRequest[], options?: CallOptions): Promise<AttributionResult[]> {
    return this.call(AttributeBatchRequest, { modelId, requests }, options);
  }

  status(options?: CallOptions): Promise<StatusResult> {
    return this.send('status', (connection, token) => connection.sendRequest(StatusRequest, token), options);
  }

  /** `backend/status`: version, device, loaded models, requests in flight, uptime, whether it is draining. */
  backendStatus(options?: CallOptions): Promise<BackendStatusResult> {
    return this.send('backend/status', (connection, token) => connection.sendRequest(BackendStatusRequest, token), options);
  }

  /** Shuts the backend down cleanly (shutdown request), killing it if it has not exited after the grace period. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.restartTimer);
    this.cancelRestart?.();
    const session = this.session;
    if (session) {
      session.expectedExit = true;
      if (session.child) {
        const grace = this.options.shutdownGraceMs;
        const exited = await Promise.race([
          session.connection
            .sendRequest(ShutdownRequest)
            .then(() => session.ended, () => session.ended)
            .then(() => true),
          sleep(grace).then(() => false),
        ]);
        if (!exited) {
          session.child.kill('SIGKILL');
          await session.ended;
        }
      } else {
        session.socket?.destroy();
        // A destroyed socket closes at once; the bound only guards against a close event that never comes.
        await Promise.race([session.ended, sleep(2000)]);
      }
    }
    for (const p of [...this.pending]) p.fail(new Error('the backend client was disposed'));
    this.exitEmitter.dispose();
    this.stderrEmitter.dispose();
    this.restartedEmitter.dispose();
  }

  // ---- machinery ----

  private call<P, R>(type: RequestType<P, R, void>, params: P, options?: CallOptions): Promise<R> {
    // By method name: vscode-jsonrpc's typed overload cannot be resolved for a generic P; the params object is sent as is.
    return this.send(type.method, (connection, token) => connection.sendRequest<R>(type.method, params, token), options);
  }

  /** Sends one request once the backend is ready. */
  private async send<R>(method: string, sendOn: (c: MessageConnection, t: CancellationToken) => Promise<R>, options: CallOptions = {}): Promise<R> {
    if (options.signal?.aborted) throw new BackendAbortError(method);
    await this.start();
    const session = this.session;
    if (!session) throw this.fatal ?? new BackendCrashedError(`backend is not running (request '${method}')`, this.stderrTail);
    return this.sendOn(session, method, sendOn, options);
  }

  /** Sends one request on a session with time-out, abort and crash handling. */
  private sendOn<R>(session: Session, method: string, sendOn: (c: MessageConnection, t: CancellationToken) => Promise<R>, options: CallOptions): Promise<R> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    if (signal?.aborted) return Promise.reject(new BackendAbortError(method));
    const cancel = new CancellationTokenSource();
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(entry);
        cancel.dispose();
        finish();
      };
      const entry: Pending = { fail: (err) => settle(() => reject(err)) };
      const timer = setTimeout(() => {
        cancel.cancel();
        entry.fail(new BackendTimeoutError(method, timeoutMs));
      }, timeoutMs);
      const onAbort = () => {
        cancel.cancel();
        entry.fail(new BackendAbortError(method));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.add(entry);
      sendOn(session.connection, cancel.token).then(
        (result) => settle(() => resolve(result)),
        (err: unknown) => {
          if (err instanceof ResponseError && (err.code === ErrorCodes.PendingResponseRejected || err.code === ErrorCodes.ConnectionInactive || err.code === ErrorCodes.MessageWriteError)) {
            // The connection closed under us (or a TLS failure destroyed the socket before the request was written):
            // report the crash, with its stderr or the connection error, once the process or socket is gone.
            void session.ended.then((crash) => entry.fail(crash));
          } else if (err instanceof ResponseError) {
            const field = (err.data as { field?: string } | undefined)?.field;
            entry.fail(new BackendRequestError(method, err.code, err.message, field));
          } else {
            entry.fail(err instanceof Error ? err : new Error(String(err)));
          }
        },
      );
    });
  }

  private addStderr(line: string): void {
    this.stderr.push(line);
    if (this.stderr.length > this.options.stderrLines) this.stderr.shift();
    this.stderrEmitter.fire(line);
  }

  /** The process exited or the socket closed: fail what was in flight, then restart unless that was intended. */
  private ended(session: Session, code: number | null, signal: string | null, resolveEnded: (crash: BackendCrashedError) => void): void {
    const how = session.socket ? 'the backend connection closed' : `the backend exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    const crash = new BackendCrashedError(how, this.stderrTail);
    resolveEnded(crash);
    if (this.session !== session) return;
    this.session = undefined;
    session.connection.dispose();
    for (const p of [...this.pending]) p.fail(crash);

    const expected = session.expectedExit || this.disposed;
    if (Date.now() - session.startedAt > this.options.stableAfterMs) this.restarts = 0;
    const willRestart = !expected && this.restarts < this.options.maxRestarts;
    this.exitEmitter.fire({ code, signal, expected, willRestart, stderrTail: crash.stderrTail });
    if (expected) {
      this.ready = undefined;
      return;
    }
    if (!willRestart) {
      this.fatal = new BackendCrashedError(`${how}; gave up after ${this.restarts} restarts`, crash.stderrTail);
      this.ready = undefined;
      return;
    }
    const delay = Math.min(this.options.restartDelayMs * 2 ** this.restarts, 30_000);
    this.restarts++;
    this.ready = new Promise<void>((resolve, reject) => {
      this.restartTimer = setTimeout(resolve, delay);
      // dispose() during the delay: whoever waits for the restart gets an error instead of waiting forever.
      this.cancelRestart = () => reject(new Error('the backend client was disposed'));
    })
      .then(() => this.launch())
      .then(async (info) => {
        await this.reloadModels();
        this.restartedEmitter.fire(info);
        return info;
      });
    // Callers see the failure through start(); this only keeps Node from reporting it as unhandled.
    this.ready.catch(() => {});
  }

  private async reloadModels(): Promise<void> {
    const session = this.session;
    if (!session) return;
    for (const [modelId, params] of [...this.models]) {
      try {
        await this.sendOn(session, 'loadModel', (c, t) => c.sendRequest(LoadModelRequest, params, t), {});
      } catch (err) {
        this.models.delete(modelId);
        this.addStderr(`could not reload model ${params.dir} after the restart: ${(err as Error).message}`);
      }
    }
  }

  private open(): Session {
    let endSession!: (crash: BackendCrashedError) => void;
    const ended = new Promise<BackendCrashedError>((resolve) => (endSession = resolve));
    let connection: MessageConnection;
    let child: ChildProcess | undefined;
    let socket: Socket | undefined;
    if (this.options.connect) {
      const { host, port, tls } = this.options.connect;
      // rejectUnauthorized stays true: a backend we cannot verify gets neither the token nor the prompts.
      socket = tls ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ca: tls.ca, rejectUnauthorized: true }) : connect({ host, port });
      connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
      socket.on('error', (err) => this.addStderr(`connection error: ${err.message}`));
      socket.on('close', () => this.ended(session, null, null, endSession));
    } else {
      const backendPath = this.options.backendPath ?? join(__dirname, 'backend.js');
      child = spawn(this.options.nodePath, [backendPath, '--stdio', ...this.options.backendArgs], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ...this.options.env },
        windowsHide: true,
      });
      connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
      createInterface({ input: child.stderr! }).on('line', (line) => this.addStderr(line));
      child.on('error', (err) => {
        this.addStderr(`could not run the backend: ${err.message}`);
        this.ended(session, null, null, endSession);
      });
      // 'close' (not 'exit'): by then all of stderr has been read, so the crash report is complete.
      child.on('close', (code, signal) => this.ended(session, code, signal, endSession));
    }
    // The writer fails when the process is gone; the 'close' handler reports that.
    child?.stdin?.on('error', () => {});
    connection.onNotification(GenerateTokenNotification, ({ handle, id, text }) => this.streams.get(handle)?.(id, text));
    connection.onError(() => {});
    connection.listen();
    const session: Session = { connection, child, socket, startedAt: Date.now(), expectedExit: false, ended };
    return session;
  }

  private async launch(): Promise<InitializeResult> {
    this.stderr.length = 0;
    const session = this.open();
    this.session = session;
    try {
      const info = await this.sendOn(
        session,
        'initialize',
        (c, token) => c.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION, clientName: this.options.clientName, token: this.options.connect?.token }, token),
        { timeoutMs: this.options.startTimeoutMs },
      );
      if (info.protocolVersion !== PROTOCOL_VERSION) {
        throw new BackendRequestError('initialize', BackendErrorCodes.ProtocolMismatch, `protocol version mismatch: this client speaks ${PROTOCOL_VERSION}, the backend speaks ${info.protocolVersion}`);
      }
      this.lastInfo = info;
      return info;
    } catch (err) {
      if (!(err instanceof BackendCrashedError)) {
        // A backend that answers wrongly (version mismatch, bad token, hang) will not get better by restarting.
        this.fatal = err as Error;
        session.expectedExit = true;
        session.child?.kill('SIGKILL');
        session.socket?.destroy();
      }
      throw err;
    }
  }
}
