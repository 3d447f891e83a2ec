import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { BackendClient, type BackendExit } from '../../core/backend/client';
import type { InitializeResult, StatusResult } from '../../protocol/backend';
import type { Ctx } from '../ctx';
import { backendSettings, REMOTE_TOKEN_SECRET, SETTINGS } from './settings';

export type BackendState = 'stopped' | 'starting' | 'ready' | 'crashed';

/** Thrown by `ensureReady()` when the backend cannot be used; its message says why (for a notification). */
export class BackendUnavailableError extends Error {}

/** How many of the backend's last stderr lines a crash notification shows. */
const CRASH_LINES = 5;

/**
 * The attribution backend process of the extension (dist/backend.js, spawned through BackendClient, which does the
 * handshake, the time-outs and the restart with backoff). Started lazily on first need, stopped on deactivation and
 * restarted when its settings change. Never loads ONNX Runtime into the extension host.
 */
export class BackendService implements vscode.Disposable {
  private current: BackendClient | undefined;
  private stateValue: BackendState = 'stopped';
  private lastStatus: StatusResult | undefined;
  private lastError: string | undefined;
  /** The settings the current client was created with. */
  private createdWith: string | undefined;
  private readonly changed = new vscode.EventEmitter<BackendState>();
  /** Fires when the state (or the device/model shown) changes. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Ctx) {
    ctx.own(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (![SETTINGS.device, SETTINGS.remote, SETTINGS.remoteCa, SETTINGS.cacheDir].some((s) => e.affectsConfiguration(s)) || !this.current) return;
        // Compared, not assumed: a command may already have restarted the backend with the new settings.
        if (settingsKey() === this.createdWith) return;
        ctx.log.info('backend settings changed: stopping the backend (it starts again with them on next need)');
        void this.stop();
      }),
    );
  }

  get state(): BackendState {
    return this.stateValue;
  }

  /** The backend's last health check (device, loaded models, pid), if it has answered one. */
  get status(): StatusResult | undefined {
    return this.lastStatus;
  }

  /** The backend process id (spawned backends only), for the status view and the tests. */
  get pid(): number | undefined {
    return this.current?.info?.pid ?? this.lastStatus?.pid;
  }

  /** Why the backend is not usable, when it is crashed. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** The client, started and health-checked; throws BackendUnavailableError saying why it cannot be. */
  async ensureReady(): Promise<BackendClient> {
    // Restricted Mode: the backend would load model folders named by the workspace (see ../trust.ts).
    if (!vscode.workspace.isTrusted) throw new BackendUnavailableError('the backend does not run in Restricted Mode (trust the workspace to start it)');
    let client = this.current;
    try {
      client ??= await this.create();
      if (this.stateValue !== 'ready') this.setState('starting');
      await client.start();
      await this.refreshStatus(client);
      return client;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.lastError = detail;
      this.setState('crashed');
      this.ctx.log.error(`the backend is not available: ${detail}`);
      // A client that gave up cannot start again: the next attempt (Retry) makes a fresh one.
      if (client && this.current === client) {
        this.current = undefined;
        void client.dispose();
      }
      throw new BackendUnavailableError(`the attribution backend is not available: ${detail}`);
    }
  }

  /** Asks the running backend for its status (device, models) and updates the status bar. */
  async refreshStatus(client = this.current): Promise<StatusResult | undefined> {
    if (!client) return undefined;
    this.lastStatus = await client.status({ timeoutMs: 15_000 });
    this.lastError = undefined;
    this.setState('ready');
    return this.lastStatus;
  }

  /** Stops the backend (it starts again on next need). */
  async stop(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    this.lastStatus = undefined;
    this.setState('stopped');
    await client?.dispose();
  }

  /** Stops, then starts and health-checks a fresh backend. */
  async restart(): Promise<BackendClient> {
    await this.stop();
    return this.ensureReady();
  }

  /** One line for the status bar: state, device and model. */
  describe(): string {
    const device = this.lastStatus?.device.device ?? this.current?.info?.device.device;
    const model = this.lastStatus?.loadedModels.map((m) => basename(m.dir)).join(', ');
    return [this.stateValue, device && (device === 'cpu' ? 'CPU' : `GPU (${device})`), model].filter(Boolean).join(' · ');
  }

  dispose(): void {
    void this.stop();
    this.changed.dispose();
  }

  private setState(state: BackendState): void {
    this.stateValue = state;
    this.changed.fire(state);
  }

  private async create(): Promise<BackendClient> {
    const settings = backendSettings();
    this.createdWith = settingsKey();
    const log = this.ctx.log;
    let client: BackendClient;
    if (settings.remote) {
      const token = (await this.ctx.extension.secrets.get(REMOTE_TOKEN_SECRET)) ?? '';
      if (!token) {
        throw new BackendUnavailableError(
          `setting ${SETTINGS.remote} names a remote backend, but no token is stored: run "AgentChord: Set API Key" and choose the remote backend token`,
        );
      }
      let ca: Buffer | undefined;
      if (settings.remote.tls && settings.remoteCa) {
        try {
          ca = readFileSync(settings.remoteCa);
        } catch (err) {
          throw new BackendUnavailableError(`setting ${SETTINGS.remoteCa}: cannot read ${settings.remoteCa} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      }
      const { tls, ...address } = settings.remote;
      // TLS: the backend's certificate is verified (never switched off); plain tcp only through an SSH tunnel.
      client = new BackendClient({ connect: { ...address, token, ...(tls ? { tls: { ...(ca ? { ca } : {}) } } : {}) }, clientName: 'agentchord-vscode' });
      log.info(`connecting to the remote backend at ${tls ? 'tls://' : ''}${settings.remote.host}:${settings.remote.port}`);
    } else {
      const args = ['--device', settings.device, ...(settings.cacheDir ? ['--cache-dir', settings.cacheDir] : [])];
      client = new BackendClient({
        backendPath: join(this.ctx.extension.extensionPath, 'dist', 'backend.js'),
        // In desktop VS Code process.execPath is the Electron binary: this makes it behave as plain Node.
        nodePath: process.execPath,
        env: { ELECTRON_RUN_AS_NODE: '1' },
        backendArgs: args,
        clientName: 'agentchord-vscode',
      });
      log.info(`starting the backend (${args.join(' ')})`);
    }
    client.onStderr((line) => log.info(`[backend] ${line}`));
    client.onExit((exit) => this.onExit(client, exit));
    client.onRestarted((info) => this.onRestarted(client, info));
    this.current = client;
    return client;
  }

  private onExit(client: BackendClient, exit: BackendExit): void {
    if (client !== this.current || exit.expected) return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    this.lastStatus = undefined;
    this.lastError = `the backend exited (${how})`;
    this.setState(exit.willRestart ? 'starting' : 'crashed');
    this.ctx.log.error(`${this.lastError}${exit.willRestart ? '; restarting' : '; not restarting again'}`);
    const tail = exit.stderrTail.slice(-CRASH_LINES).join('\n');
    const message = exit.willRestart
      ? `AgentChord: the attribution backend crashed (${how}) and is restarting.`
      : `AgentChord: the attribution backend crashed (${how}) again and was not restarted.`;
    const actions = exit.willRestart ? ['Show Log'] : ['Retry', 'Show Log'];
    const shown = `${message} Last backend output: ${tail || '(none)'}`;
    void vscode.window.showErrorMessage(shown, ...actions).then((choice) => {
      if (choice === 'Show Log') this.ctx.log.show();
      if (choice === 'Retry') void this.restart().catch(() => undefined);
    });
  }

  private onRestarted(client: BackendClient, info: InitializeResult): void {
    if (client !== this.current) return;
    this.ctx.log.info(`the backend is back (pid ${info.pid}, ${info.device.device})`);
    void this.refreshStatus(client).catch((err) => this.ctx.log.warn(`backend status after restart failed: ${String(err)}`));
  }
}

function settingsKey(): string {
  try {
    return JSON.stringify(backendSettings());
  } catch (err) {
    return `invalid: ${String(err)}`;
  }
}
