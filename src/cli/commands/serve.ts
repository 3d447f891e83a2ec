/**
 * `agentchord serve`: the attribution backend as a long-lived service on a GPU host (../../backend/server/service.ts).
 * Clients (`--backend tls://host:port` on run/optimize/blame/attribute, `attribution.backends`, the editor's
 * `agentchord.backend.remote`) name models; this machine resolves them. See docs/remote-backend.md.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseDeviceChoice } from '../../backend/runtime/device';
import { defaultCacheDir } from '../../backend/runtime/graphCache';
import { loadModel } from '../../backend/runtime/loadModel';
import { parseListen } from '../../backend/server/startBackend';
import { startService } from '../../backend/server/service';
import { modelsDir as pulledModelsDir } from '../../shared/modelCache';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord serve [--listen host:port] [--device auto|cuda|webgpu|cpu] [--models-dir d]
                        [--tls-cert f --tls-key f] [--token-env VAR] [--insecure-no-token] [--grace s]

Runs the attribution backend as a service: JSON-RPC over TCP (or TLS), clients authenticate with a bearer token.

  --listen h:p         address to listen on (default 127.0.0.1:7400; port 0 picks a free one)
  --device d           auto (default: CUDA, then WebGPU, then CPU), cuda, webgpu or cpu
  --models-dir d       where model names resolve: "name" is <d>/name, "org/name[@rev]" a model pulled into the
                       model cache (agentchord model pull), else <d>/org/name. Default: the model cache. Clients
                       never send paths: a request naming a client path is refused.
  --tls-cert f         PEM certificate chain; with --tls-key, serve TLS (clients verify it; give them the CA as ca)
  --tls-key f          PEM private key
  --token-env VAR      environment variable holding the bearer token (default AGENTCHORD_BACKEND_TOKEN). Required:
                       serve refuses to start without a token...
  --insecure-no-token  ...unless --listen is a loopback address (127.0.0.1, ::1, localhost) and this is given
                       (a single-user machine, reached through an SSH tunnel)
  --grace s            on SIGTERM, seconds requests in flight may take before they are cancelled (default 30)
  --cache-dir d        compiled-graph cache (default $AGENTCHORD_CACHE or ~/.cache/agentchord)

Logs are one JSON object per line on stderr (time, level, event, connection, method, durationMs); never the token.
SIGTERM or SIGINT: stop accepting, finish or cancel what is in flight, exit 0.`;

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(resolve(file));
  } catch (err) {
    throw new CliError(`serve: ${option}: cannot read ${resolve(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the attribution backend as a service (TCP/TLS, bearer token) for remote clients',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions('serve', {
      args,
      options: {
        listen: { type: 'string', default: '127.0.0.1:7400' },
        device: { type: 'string', default: 'auto' },
        'models-dir': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'token-env': { type: 'string', default: 'AGENTCHORD_BACKEND_TOKEN' },
        'insecure-no-token': { type: 'boolean' },
        grace: { type: 'string', default: '30' },
        'cache-dir': { type: 'string' },
      },
      allowPositionals: true,
    });
    if (positionals.length) throw new CliError(`serve: unexpected argument ${positionals[0]} (see 'agentchord serve --help')`);
    let listen;
    try {
      listen = parseListen(values.listen!);
    } catch (err) {
      throw new CliError(`serve: ${(err as Error).message}`);
    }
    const device = parseDeviceChoice(values.device!);
    if (!device) throw new CliError(`serve: --device: expected auto, cpu, cuda or webgpu, got '${values.device}'`);
    const grace = Number(values.grace);
    if (!(grace >= 0) || !Number.isFinite(grace)) throw new CliError(`serve: --grace: expected a number of seconds >= 0, got '${values.grace}'`);
    const tokenEnv = values['token-env']!;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv)) throw new CliError(`serve: --token-env: expected an environment variable name, got '${tokenEnv}'`);
    const token = process.env[tokenEnv] || undefined;
    if (token === undefined) {
      if (!values['insecure-no-token']) {
        throw new CliError(`serve: no token: set the environment variable ${tokenEnv} (--token-env) to the bearer token clients must send`);
      }
      if (!isLoopback(listen.host)) {
        throw new CliError(`serve: --insecure-no-token is only allowed on a loopback address, not --listen ${listen.host}; set ${tokenEnv}`);
      }
    } else if (values['insecure-no-token']) {
      throw new CliError(`serve: --insecure-no-token given, but ${tokenEnv} is set: drop one of them`);
    }
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
      throw new CliError(`serve: --tls-cert and --tls-key go together (got only ${values['tls-cert'] !== undefined ? '--tls-cert' : '--tls-key'})`);
    }
    const tls = values['tls-cert'] !== undefined ? { cert: readPem('--tls-cert', values['tls-cert']), key: readPem('--tls-key', values['tls-key']!) } : undefined;
    const modelsDir = resolve(values['models-dir'] ?? pulledModelsDir());

    let service;
    try {
      service = await startService(
        {
          host: listen.host,
          port: listen.port,
          device,
          modelsDir,
          cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : defaultCacheDir(),
          token,
          tls,
          graceMs: grace * 1000,
        },
        loadModel,
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') throw new CliError(`serve: --listen ${values.listen}: ${e.message}`, 1);
      if (/PEM|key values mismatch|no start line/i.test(e.message ?? '')) throw new CliError(`serve: --tls-cert/--tls-key: ${e.message}`);
      throw new CliError(`serve: ${e.message}`, 1);
    }
    // Runs until SIGTERM/SIGINT (or a client's shutdown request, which exits from the service itself).
    await new Promise<void>((done) => {
      const stop = () => {
        process.removeListener('SIGTERM', stop);
        process.removeListener('SIGINT', stop);
        void service.drain().then(done);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    return 0;
  },
};
