/**
 * `agentchord` command line: a thin dispatcher over the core. Each command lives in ./commands/<name>.ts and exports
 * a `Command`. Exit codes: 0 success, 1 the checked thing is bad (e.g. validation problems), 2 usage / invalid input.
 */
import { commands } from './commands';
import { packageVersion } from './version';
import { CliError } from './cliError';
import { heldRunFolders, RunFolder } from '../core/engine/runFolder';

function usage(): string {
  const lines = ['Usage: agentchord <command> [options]', '', 'Commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `agentchord <command> --help` for a command\'s options; `agentchord --version` prints the version.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`agentchord ${packageVersion()}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`agentchord: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  return command.run(rest);
}

let finished = false;

// The event loop ran dry while the command was still waiting: something it awaits can never settle (a promise of
// user code with no timer behind it). Exiting 0 with nothing said would be a false success.
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  const message = 'the command stopped before it finished: something it was waiting for can never finish (a promise that never settles)';
  for (const dir of heldRunFolders()) {
    try {
      RunFolder.open(dir).updateManifest({ status: 'failed', error: message });
    } catch {
      // the message below still says it
    }
  }
  process.stderr.write(`agentchord: internal error: ${message}\n`);
  process.exitCode = 70;
});

/**
 * Once the command has finished, the process ends even if something still holds the event loop (a time-out timer of
 * a request to a backend that died, a socket a library keeps open): a CLI that printed its result and then hangs is
 * worse than one that exits. The grace lets piped output drain; the timer itself does not keep the process alive.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 2000).unref();
}

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
    exitSoon();
  },
  (err: unknown) => {
    finished = true;
    if (err instanceof CliError) {
      process.stderr.write(`agentchord: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`agentchord: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    }
    exitSoon();
  },
);
