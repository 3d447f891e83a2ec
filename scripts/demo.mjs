// `npm run demo`: GBC end to end, offline, on the tiny story model shipped in models/stories260k.
// Builds the CLI if it is missing or older than the sources, then runs examples/demo-stories: generation by three
// local agents, connection weights (gradients), the verbal loss, the backward pass, the offline `warnings` optimizer
// (a proposal, never written to the prompt files) and the self-contained HTML report. No API key, no network.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const system = join(root, 'examples', 'demo-stories');
const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };

/** Newest modification time of the files below `dir`. */
function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function run(args, { capture = false } = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0 && !(capture && r.status === 3)) {
    console.error(`demo: '${args.join(' ')}' failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

if (!existsSync(cli) || statSync(cli).mtimeMs < newest(join(root, 'src'))) {
  console.log('demo: building (node scripts/build.mjs)...');
  run([join(root, 'scripts', 'build.mjs')]);
}

console.log('demo: optimizing examples/demo-stories on models/stories260k (all local, no API key)...');
const result = JSON.parse(run([cli, 'optimize', system, '--json'], { capture: true }));
for (const line of result.log) console.log(`  ${line}`);

const CAVEAT =
  'stories260k is a 260K-parameter story model: it continues text and cannot follow instructions. Its block-level ' +
  'weights lean on recency (the block nearest the output tends to weigh most; the recency line counts it for this ' +
  'run), while its token-level saliency lights up the names and objects it copies from the context (the saliency ' +
  'lines). So this demo shows the machinery, not blame to act on; for that, attribute with a real model (or ' +
  'shared/models/chord-retrieval, whose information flow is known).';
const reportFile = join(result.run, 'report.html');
const summary = JSON.parse(run([cli, 'report', result.run, '--json', '--html', reportFile, '--note', CAVEAT], { capture: true }));

const rel = (p) => relative(process.cwd(), p) || p;
console.log('');
console.log(`run folder: ${rel(result.run)} (${result.status})`);
console.log(`blame:      ${summary.blame.map((b) => `${b.agent} ${(b.share * 100).toFixed(0)}%`).join(', ')}`);
if (summary.recency.calls) {
  console.log(`recency:    the last block got the highest weight in ${summary.recency.lastBlockTop} of ${summary.recency.calls} weighted multi-block calls`);
}
for (const t of summary.salientTokens.slice(0, 3)) console.log(`saliency:   ${t.agent} (${t.callId}): ${t.tokens.map((x) => JSON.stringify(x)).join(' ')}`);
console.log('');
console.log(`NOTE: ${CAVEAT}`);
console.log('');
for (const p of result.proposals) console.log(`proposal:   ${rel(p)}`);
if (result.proposals.length === 0) console.log('proposal:   none (every sample was correct, or nothing new to add)');
console.log(`report:     ${rel(reportFile)}`);
console.log(`review:     node dist/cli.js apply ${rel(result.run)}   (shows the diff; writes only after you confirm)`);
