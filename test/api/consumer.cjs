// The runtime twin of consumer.mts: uses only require('agentchord/api') (the package's own exports, resolved by
// name from inside the package), as a user's script would. Usage: node consumer.cjs <trace> <verdicts> <model> <out>
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS user script is what this checks
const { importTrace, blame, readRun, summarizeRun } = require('agentchord/api');

async function main([trace, verdicts, model, out]) {
  const imported = await importTrace({ files: [trace], out });
  const result = await blame(imported.runDir, { model, device: 'cpu', verdicts: { kind: 'loss-file', file: verdicts } });
  const summary = summarizeRun(imported.runDir);
  const run = readRun(imported.runDir);
  process.stdout.write(JSON.stringify({ agents: imported.agents, blame: result.blame, trajectories: summary.trajectories.length, imported: run.manifest.imported, attribution: run.manifest.attribution }) + '\n');
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
