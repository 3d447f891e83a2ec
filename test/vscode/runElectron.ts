// `npm run test:electron`: runs the extension-host suites in a downloaded desktop VS Code (@vscode/test-electron).
// Needs internet on first use (it downloads VS Code into .vscode-test/). Offline machines use the code-server layer
// instead (scripts/test-layers/vscode.mjs), which runs the very same compiled suites.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  // This file is bundled to out/test/vscode/runElectron.js: the repository is three levels up.
  const repo = resolve(__dirname, '..', '..', '..');
  const scratch = mkdtempSync(join(tmpdir(), 'agentchord-electron-'));
  const workspace = join(scratch, 'workspace');
  // A fresh copy each run: the suites edit, create and delete files in it.
  cpSync(join(repo, 'test', 'vscode', 'fixtures', 'workspace'), workspace, { recursive: true });
  try {
    await runTests({
      extensionDevelopmentPath: repo,
      extensionTestsPath: join(repo, 'out', 'test', 'vscode', 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', join(scratch, 'user-data')],
      extensionTestsEnv: { ORT_DISABLE_TELEMETRY: '1' },
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('extension-host tests failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
