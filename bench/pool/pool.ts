/**
 * `npm run bench:pool`: attribution throughput (calls/s) through the backend pool (src/core/backend/pool.ts) over 1
 * and 2 local `agentchord serve` processes, against the same calls in this process (inProcessModels), all measured in
 * the same run on the same requests. On a 2-core machine two processes compete for the same cores, so little gain is
 * expected: the point is that the pool (JSON-RPC, scheduling, retries) adds no measurable overhead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { inProcessModels } from '../../src/backend/inProcess';
import { BackendClient } from '../../src/core/backend/client';
import { pooledModels } from '../../src/core/backend/pool';
import type { LocalModels } from '../../src/protocol/localModel';
import type { BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { fmt, ratio, type BenchResult } from '../lib/report';
import { randomRequest } from '../lib/requests';
import { BENCH_MODEL } from '../lib/benchModel';

const CALLS = 16;
const TOKEN = 'bench-pool-token';

function startServe(cli: string, modelsDir: string, cacheDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0', '--device', 'cpu', '--models-dir', modelsDir, '--cache-dir', cacheDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_BACKEND_TOKEN: TOKEN },
  });
  return new Promise((resolvePort, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; port?: number };
        if (e.event === 'listening') resolvePort({ child, port: Number(e.port) });
      } catch {
        // not a log line
      }
    });
    child.on('exit', (code) => reject(new Error(`agentchord serve exited with ${code}`)));
  });
}

/** Seconds for all calls, `inFlight` at once (the forward run's sample concurrency). */
async function timeCalls(models: LocalModels, dir: string, requests: ReturnType<typeof randomRequest>[], inFlight: number): Promise<number> {
  const model = await models.model(dir, 'cpu');
  await model.attribute(requests[0]!); // warm-up: load, compile, page cache
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < requests.length) await model.attribute(requests[next++]!);
    }),
  );
  return (performance.now() - start) / 1000;
}

export async function poolThroughput(ctx: BenchContext): Promise<BenchResult> {
  const cli = resolve('dist', 'cli.js');
  const notes: string[] = [];
  const requests = Array.from({ length: CALLS }, (_, k) => randomRequest({ length: 512, prefixLength: 384, targets: 64, spanCount: 4, vocabSize: BENCH_MODEL.vocabSize, seed: 100 + k }));
  const work = mkdtempSync(join(tmpdir(), 'agentchord-bench-pool-'));
  const cacheDir = join(work, 'graphs');
  const name = basename(ctx.modelDir);
  const loadBefore = loadavg()[0]!;
  const times: Record<'inProcess' | 'serve1' | 'serve2', number[]> = { inProcess: [], serve1: [], serve2: [] };
  const servers: ChildProcess[] = [];
  try {
    if (!existsSync(cli)) throw new Error(`${cli} is missing (npm run build)`);
    const procs = [await startServe(cli, dirname(ctx.modelDir), cacheDir), await startServe(cli, dirname(ctx.modelDir), cacheDir)];
    servers.push(...procs.map((p) => p.child));
    const pool = (n: number) =>
      pooledModels(procs.slice(0, n).map((p) => ({ client: new BackendClient({ connect: { host: '127.0.0.1', port: p.port, token: TOKEN } }), name: `tcp://127.0.0.1:${p.port}`, concurrency: 1 })));
    // Rounds alternate the three set-ups, so load from other processes falls on all of them alike.
    for (let round = 0; round < ctx.repeat; round++) {
      const local = inProcessModels({ cacheDir });
      times.inProcess.push(await timeCalls(local, ctx.modelDir, requests, 2));
      await local.dispose();
      for (const n of [1, 2] as const) {
        const p = pool(n);
        // The pool names the model by its folder name; the servers find it under their --models-dir.
        times[n === 1 ? 'serve1' : 'serve2'].push(await timeCalls(p, join('/', name), requests, 2));
        await p.dispose();
      }
    }
  } catch (err) {
    notes.push(`not measured: ${(err as Error).message}`);
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
  const rate = (xs: number[]) => (xs.length ? CALLS / median(xs) : undefined);
  const inProcess = rate(times.inProcess);
  const serve1 = rate(times.serve1);
  const serve2 = rate(times.serve2);
  const loadAfter = loadavg()[0]!;
  notes.push(`${CALLS} calls of 512 tokens (prefix 384, 64 targets) on ${name}, 2 in flight; median of ${ctx.repeat} rounds; ${cpus().length} cores; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  const perS = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)} calls/s`);
  return {
    name: 'pool',
    title: 'Attribution throughput: the backend pool over local agentchord serve processes vs in-process',
    rows: [
      ['in-process (reference)', perS(inProcess)],
      ['pool, 1 serve process', `${perS(serve1)}  (${fmt.ratio(ratio(serve1, inProcess))} of in-process)`],
      ['pool, 2 serve processes', `${perS(serve2)}  (${fmt.ratio(ratio(serve2, inProcess))} of in-process)`],
    ],
    metrics: {
      inProcessCallsPerSecond: inProcess ?? null,
      pool1CallsPerSecond: serve1 ?? null,
      pool2CallsPerSecond: serve2 ?? null,
      pool1VsInProcess: ratio(serve1, inProcess) ?? null,
      pool2VsInProcess: ratio(serve2, inProcess) ?? null,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
    },
    notes,
  };
}
