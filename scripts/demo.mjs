// `npm run demo [-- blame|stories]`: GBC end to end, offline, no API key. Builds the CLI if it is missing or older
// than the sources, then optimizes one example system and writes its HTML report:
//   blame (default, `npm run demo`):   examples/demo-blame on models/chord-retrieval: a planted fault (one reporter
//                                      reports a wrong fact), found by the connection weights and the backward pass;
//   stories (`npm run demo:stories`):  examples/demo-stories on models/stories260k: the machinery on a story model.
// The optimizer is the offline `warnings` one: a proposal, never written to the prompt files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };

const EXAMPLES = {
  blame: {
    dir: 'examples/demo-blame',
    outputAgent: 'answerer',
    intro:
      'demo: examples/demo-blame: three reporters (Planner, Checker, Scout) report facts about a scene; in the training ' +
      'samples Checker reports one fact wrong. The answerer (models/chord-retrieval) answers a question about that ' +
      'person. All local, no API key...',
    caveat:
      'What this shows: gradient connection weights point at the report the answer was copied from, so the backward ' +
      'pass blames Checker (the planted fault, not the last report) and the warnings optimizer proposes a change to ' +
      "Checker's prompt only. What it does not show: chord-retrieval is a 260K-parameter model trained for exactly this " +
      'input format ("Name: fact." lines, a question, "Answer:"); on 130 such cases the top-1 block is the source in ' +
      '94.6% of them with max_grad_input or either L1 strategy (recency: 36.9%), not always (npm run bench:blame, docs/blame-benchmark.md). The reporters replay their ' +
      'replies from the data (provider: replay), so the fault is planted, and their prompts cannot change what they say. ' +
      'For blame on your own system, attribute with a model that reads your agents\' format.',
  },
  stories: {
    dir: 'examples/demo-stories',
    intro: 'demo: optimizing examples/demo-stories on models/stories260k (all local, no API key)...',
    caveat:
      'stories260k is a 260K-parameter story model: it continues text and cannot follow instructions. Its block-level ' +
      'weights lean on recency (the block nearest the output tends to weigh most; the recency line counts it for this ' +
      'run), while its token-level saliency lights up the names and objects it copies from the context (the saliency ' +
      'lines). So this demo shows the machinery, not blame to act on; for that, see `npm run demo` (models/chord-retrieval, ' +
      'whose information flow is known) or attribute with a real model.',
  },
};

const name = process.argv[2] ?? 'blame';
const example = EXAMPLES[name];
if (!example) {
  console.error(`demo: unknown example '${name}' (one of: ${Object.keys(EXAMPLES).join(', ')})`);
  process.exit(2);
}
const system = join(root, example.dir);

/** Newest modification time of the files below `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
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

const readJsonl = (file) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

/** Per training sample: the output agent's answer, the reference, and the weight of each of its input blocks. */
function printAnswers(runDir, output) {
  const calls = readJsonl(join(runDir, 'calls.jsonl'));
  const weights = new Map(readJsonl(join(runDir, 'attribution.jsonl')).map((a) => [a.callId, a]));
  const samples = new Map(readJsonl(join(runDir, 'samples.jsonl')).map((s) => [s.sampleId ?? s.id, s]));
  for (const call of calls.filter((c) => c.agent === output && !c.id.includes(':val'))) {
    const a = weights.get(call.id);
    const sample = samples.get(call.sampleId);
    console.log(`sample ${call.sampleId}: answer ${JSON.stringify(call.output.trim())}${sample?.loss ? ` (loss: ${sample.loss})` : ''}`);
    if (a?.status !== 'ok') continue;
    const total = Object.values(a.weights).reduce((s, w) => s + Math.max(0, w), 0) || 1;
    const top = Object.entries(a.weights).sort((x, y) => y[1] - x[1])[0][0];
    const parts = call.blocks.map((b) => `${b.id.replace(/^agent:/, '')} ${((Math.max(0, a.weights[b.id]) / total) * 100).toFixed(0)}%${b.id === top ? ' <- top' : ''}`);
    console.log(`  weights (${a.strategy}, share): ${parts.join(' | ')}`);
  }
}

if (!existsSync(cli) || statSync(cli).mtimeMs < newest(join(root, 'src'))) {
  console.log('demo: building (node scripts/build.mjs)...');
  run([join(root, 'scripts', 'build.mjs')]);
}

console.log(example.intro);
const result = JSON.parse(run([cli, 'optimize', system, '--json'], { capture: true }));
for (const line of result.log) console.log(`  ${line}`);

const reportFile = join(result.run, 'report.html');
const summary = JSON.parse(run([cli, 'report', result.run, '--json', '--html', reportFile, '--note', example.caveat], { capture: true }));

const rel = (p) => relative(process.cwd(), p) || p;
console.log('');
if (example.outputAgent) printAnswers(result.run, example.outputAgent);
console.log(`run folder: ${rel(result.run)} (${result.status})`);
console.log(`blame:      ${summary.blame.map((b) => `${b.agent} ${(b.share * 100).toFixed(0)}%`).join(', ')}`);
if (summary.recency.calls) {
  console.log(`recency:    the last block got the highest weight in ${summary.recency.lastBlockTop} of ${summary.recency.calls} weighted multi-block calls`);
}
for (const t of summary.salientTokens.slice(0, 3)) console.log(`saliency:   ${t.agent} (${t.callId}): ${t.tokens.map((x) => JSON.stringify(x)).join(' ')}`);
console.log('');
console.log(`NOTE: ${example.caveat}`);
console.log('');
for (const p of result.proposals) {
  const proposal = JSON.parse(readFileSync(p, 'utf8'));
  console.log(`proposal:   ${rel(p)} (changes: ${proposal.changes.map((c) => c.agent).join(', ')})`);
}
if (result.proposals.length === 0) console.log('proposal:   none (every sample was correct, or nothing new to add)');
console.log(`report:     ${rel(reportFile)}`);
console.log(`review:     node dist/cli.js apply ${rel(result.run)}   (shows the diff; writes only after you confirm)`);
