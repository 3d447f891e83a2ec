/** Runs the bundled CLI as a process, with its own graph cache. */
import { execFile } from 'node:child_process';

export function runCli(cliPath: string, args: string[], cacheDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', AGENTCHORD_CACHE: cacheDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
