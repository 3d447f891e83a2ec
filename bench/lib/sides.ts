/**
 * The two implementations a benchmark compares, each run as a whole process exactly as a user would run it:
 * ours (`node bin/agentchord.js attribute`, the built CLI) and the PyTorch eager reference
 * (bench/reference/torch_attribute.py, float32, same thread count).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { AttributionResult } from '../../src/protocol/attribution';
import { BENCH_DIR } from './models';
import { measure, type Measured } from './measure';

export const PYTHON = '/usr/bin/python3'; // Debian's, which has python3-torch (a pyenv python3 on PATH may not)
export const THREADS = cpus().length;

export interface SideRun {
  measured: Measured;
  results: AttributionResult[];
  /** Seconds inside the process, when the side reports them (the reference does: load and compute). */
  inner?: { loadSeconds: number; runSeconds: number[] };
}

export interface Side {
  name: string;
  /** Why the side cannot run here, or undefined when it can. */
  unavailable: string | undefined;
  /** extraArgs: more command-line arguments for this side (e.g. the reference's --checkpoint). */
  attribute(modelDir: string, requestFile: string, extraArgs?: string[]): Promise<SideRun>;
}

function parseResults(m: Measured, label: string): AttributionResult[] {
  if (m.exitCode !== 0) throw new Error(`${label} exited with ${m.exitCode}: ${m.stderr.trim().slice(-2000)}`);
  const parsed = JSON.parse(m.stdout) as AttributionResult | AttributionResult[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * Environment for torch: without the two OpenBLAS variables that make Debian's OpenBLAS misdetect the CPU, and with
 * OpenMP threads that sleep rather than spin while waiting (unless OMP_WAIT_POLICY is set): on a machine shared with
 * other work, spinning made one 1024-token request take 44 s instead of 8 s. This favours the reference, not us.
 */
export function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.OMP_WAIT_POLICY ??= 'PASSIVE';
  return env;
}

export const TORCH_SCRIPT = resolve('bench', 'reference', 'torch_attribute.py');

export function torchSide(): Side {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env: torchEnv(), encoding: 'utf8' });
  return {
    name: `PyTorch eager (fp32, ${THREADS} threads)`,
    unavailable: probe.status === 0 ? undefined : `${PYTHON} cannot import torch (apt-get install python3-torch libopenblas0-pthread)`,
    async attribute(modelDir, requestFile, extraArgs = []) {
      const measured = await measure(PYTHON, [TORCH_SCRIPT, '--model', modelDir, '--request', requestFile, '--dtype', 'float32',
        '--threads', String(THREADS), '--timing', ...extraArgs], torchEnv());
      const results = parseResults(measured, 'torch_attribute.py');
      const timing = measured.stderr.trim().split('\n').pop() ?? '{}';
      return { measured, results, inner: JSON.parse(timing) as SideRun['inner'] };
    },
  };
}

export const CLI = resolve('bin', 'agentchord.js');

/** device: what `agentchord attribute --device` gets (cpu here; cuda or webgpu on a GPU machine). */
export function oursSide(device: string): Side {
  let unavailable: string | undefined;
  if (!existsSync(resolve('dist', 'cli.js'))) unavailable = 'dist/cli.js is missing: `node scripts/build.mjs` failed or was not run';
  else {
    const probe = spawnSync(process.execPath, [CLI, 'attribute', '--help'], { encoding: 'utf8' });
    if (probe.status !== 0) unavailable = `\`agentchord attribute\` is not available yet: ${(probe.stderr || probe.stdout).trim().split('\n')[0]}`;
  }
  return {
    name: `agentchord CLI (${device})`,
    unavailable,
    async attribute(modelDir, requestFile) {
      const measured = await measure(process.execPath, [CLI, 'attribute', '--model', modelDir, '--request', requestFile, '--device', device],
        { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: join(BENCH_DIR, 'cache') });
      return { measured, results: parseResults(measured, 'agentchord attribute') };
    },
  };
}
