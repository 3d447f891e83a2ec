/** Runs the bundled CLI as a process, with its own graph cache. */
import { execFile } from 'node:child_process';

/** @param nodeArgs options for node itself (e.g. a heap limit) */
export function runCli(cliPath: string, args: string[], cacheDir: string, nodeArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: cacheDir }, maxBuffer: 64 * 1024 * 1024 };
    execFile(process.execPath, [...nodeArgs, cliPath, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
