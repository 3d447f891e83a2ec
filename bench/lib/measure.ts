/**
 * Runs a command as a child process and measures what a user would feel: wall time of the whole process and its
 * peak resident memory. Peak RSS comes from two sources (Linux only): GNU time's %M (exact peak of the direct child,
 * from wait4) and polling /proc for the sum over the child's process tree (catches helpers the child spawns).
 * Hand-written because no maintained npm package reports a process tree's peak RSS; it is a few /proc reads.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  exitCode: number;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  peakRssMiB: number;
  /** CPU seconds in user and kernel mode (GNU time's %U and %S; undefined without /usr/bin/time). */
  userSeconds?: number;
  systemSeconds?: number;
}

const GNU_TIME = '/usr/bin/time';

function statusField(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process has exited between listing and reading
  }
}

function processTree(root: number): number[] {
  const pids = [root];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // exited
    }
  }
  return pids;
}

/** Runs `command args` with the given environment and returns its output, wall time and peak RSS. */
export async function measure(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const tmp = mkdtempSync(join(tmpdir(), 'agentchord-measure-'));
  const timeFile = join(tmp, 'time.txt');
  const [cmd, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let polledPeakKiB = 0;
  const poll = setInterval(() => {
    if (child.pid === undefined) return;
    // Under GNU time the child is `time` itself (tiny); its descendants are what we measure.
    const tree = processTree(child.pid).slice(useTime ? 1 : 0);
    const sum = tree.reduce((s, pid) => s + statusField(pid, 'VmRSS'), 0);
    polledPeakKiB = Math.max(polledPeakKiB, sum);
  }, 20);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(poll);
  let timePeakKiB = 0;
  let cpu: { userSeconds?: number; systemSeconds?: number } = {};
  if (useTime) {
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    const [peak, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    timePeakKiB = peak || 0;
    if (Number.isFinite(user) && Number.isFinite(system)) cpu = { userSeconds: user, systemSeconds: system };
  }
  rmSync(tmp, { recursive: true, force: true });
  return {
    exitCode,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    wallSeconds,
    peakRssMiB: Math.max(polledPeakKiB, timePeakKiB) / 1024,
    ...cpu,
  };
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
