/** The attribution backend process (bundled to dist/backend.js). See ./server/startBackend.ts for its options. */
import { loadModel } from './runtime/loadModel';
import { runBackend } from './server/startBackend';

runBackend(process.argv.slice(2), loadModel).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`[agentchord backend] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
