// The extension-tests entry (`extensionTestsPath`): VS Code's extension host loads this file and awaits `run()`.
// Used unchanged by both runners: test-electron (runElectron.ts, desktop) and code-server (scripts/test-layers/vscode.mjs).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

/** The line the offline runner parses; also written as JSON to $AGENTCHORD_VSCODE_RESULT_FILE when set. */
export const RESULT_PREFIX = 'AGENTCHORD_VSCODE_RESULT ';

export interface SuiteResult {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 30_000 });
  const suiteDir = join(__dirname, 'suite');
  const only = process.env.AGENTCHORD_VSCODE_GREP;
  if (only) mocha.grep(only);
  for (const name of readdirSync(suiteDir).filter((n) => n.endsWith('.test.js')).sort()) mocha.addFile(join(suiteDir, name));

  const result: SuiteResult = { passed: 0, failed: 0, skipped: 0, failures: [] };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => result.passed++);
    runner.on('pending', () => result.skipped++);
    runner.on('fail', (test, err: Error) => {
      result.failed++;
      result.failures.push(`${test.fullTitle()}: ${err?.message ?? err}`);
    });
  });

  console.log(RESULT_PREFIX + JSON.stringify(result));
  const file = process.env.AGENTCHORD_VSCODE_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  if (result.failed > 0 || result.passed === 0) {
    throw new Error(result.passed === 0 ? 'no extension-host test ran' : `${result.failed} extension-host test(s) failed`);
  }
}
