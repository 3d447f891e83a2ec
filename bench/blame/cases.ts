/**
 * Blame cases on models/chord-retrieval, run through the real engine path: each case becomes a small system (one
 * replay reporter per agent line, labelled as in the case, and an answerer on chord-retrieval with `input: { format:
 * lines }`), and runForward runs it: rendered messages -> block map -> token ranges -> backend -> connection weights.
 * Used by `npm run bench:blame` (./blame.ts) and by test/unit/examples/demo-blame.
 *
 * Case format (models/chord-retrieval/README.md): BOS, the agent lines `Label: fact.` joined by '\n', then
 * `Question: What does <Name> have?\nAnswer:` and the answer ` a <adjective> <object>.`; the source block is the line
 * whose fact the answer copies.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalModels } from '../../src/protocol/localModel';
import { makeAttributor } from '../../src/core/engine/attribution';
import { runForward } from '../../src/core/engine/forward';
import { makeModelResolver } from '../../src/core/engine/models';
import { RunFolder } from '../../src/core/engine/runFolder';
import type { AgentCall, CallAttribution } from '../../src/core/engine/types';
import { loadSystemFile } from '../../src/core/system';
import type { AttributionStrategy, SystemConfig } from '../../src/core/system/types';
import { seededRandom } from '../../src/shared/random';

/** A case of models/chord-retrieval/cases.json, as shipped. */
export interface ShippedCase {
  text: string;
  inputIds: number[];
  blocks: Array<{ id: string; start: number; end: number }>;
  question: { start: number; end: number };
  answerStart: number;
  answerEnd: number;
  sourceBlock: string;
}

/** A case as the harness runs it. */
export interface BlameCase {
  id: string;
  origin: 'shipped' | 'generated';
  /** The agent lines, in order: label and fact text. */
  lines: Array<{ label: string; text: string }>;
  person: string;
  /** The reference answer, with its leading space (` a blue toy.`). */
  answer: string;
  /** Index of the source line. */
  source: number;
  /** Shipped cases: what the case file says. */
  shipped?: ShippedCase;
}

export function loadShippedCases(file: string): BlameCase[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as ShippedCase[];
  return raw.map((c, i) => parseCase(c, `shipped-${String(i).padStart(2, '0')}`));
}

const QUESTION = /^Question: What does (\S+) have\?$/;

export function parseCase(c: ShippedCase, id: string): BlameCase {
  const rows = c.text.split('\n');
  const q = rows.findIndex((r) => QUESTION.test(r));
  if (q < 1 || !rows[q + 1]?.startsWith('Answer:')) throw new Error(`case ${id}: not in the chord-retrieval format`);
  const lines = rows.slice(0, q).map((row) => {
    const at = row.indexOf(': ');
    return { label: row.slice(0, at), text: row.slice(at + 2) };
  });
  const source = c.blocks.findIndex((b) => b.id === c.sourceBlock);
  return { id, origin: 'shipped', lines, person: QUESTION.exec(rows[q])![1], answer: rows[q + 1].slice('Answer:'.length), source, shipped: c };
}

const FACT = /^(\S+) has a (\S+) (\S+)\.$/;

/** Labels, names, adjectives, objects and filler sentences used by the shipped cases. */
export function vocabulary(cases: BlameCase[]) {
  const sets = { labels: new Set<string>(), names: new Set<string>(), adjectives: new Set<string>(), objects: new Set<string>(), fillers: new Set<string>() };
  for (const c of cases) {
    for (const line of c.lines) {
      sets.labels.add(line.label);
      for (const sentence of line.text.match(/[^.]+\./g) ?? []) {
        const m = FACT.exec(sentence.trim());
        if (m) {
          sets.names.add(m[1]);
          sets.adjectives.add(m[2]);
          sets.objects.add(m[3]);
        } else sets.fillers.add(sentence.trim());
      }
    }
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return { labels: sorted(sets.labels), names: sorted(sets.names), adjectives: sorted(sets.adjectives), objects: sorted(sets.objects), fillers: sorted(sets.fillers) };
}

/**
 * `count` new cases in the shipped format, from the shipped vocabulary (seeded): 2-4 lines from distinct labels, the
 * source line at a random position, decoys (the same object owned by someone else) and filler sentences elsewhere.
 */
export function generateCases(shipped: BlameCase[], count: number, seed = 1): BlameCase[] {
  const v = vocabulary(shipped);
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const shuffled = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  const cases: BlameCase[] = [];
  for (let n = 0; n < count; n++) {
    const k = 2 + Math.floor(rand() * 3);
    const labels = shuffled(v.labels).slice(0, k);
    const names = shuffled(v.names);
    const person = names[0];
    const adjective = pick(v.adjectives);
    const object = pick(v.objects);
    const source = Math.floor(rand() * k);
    let other = 1;
    const fact = (name: string, obj = pick(v.objects)) => `${name} has a ${pick(v.adjectives)} ${obj}.`;
    const lines = labels.map((label, i) => {
      const sentences: string[] = [];
      if (i === source) sentences.push(`${person} has a ${adjective} ${object}.`);
      else sentences.push(rand() < 0.3 ? fact(names[other++], object) : fact(names[other++]));
      if (rand() < 0.5) sentences.push(rand() < 0.5 ? pick(v.fillers) : fact(names[other++]));
      return { label, text: (rand() < 0.5 ? sentences : sentences.reverse()).join(' ') };
    });
    cases.push({ id: `generated-${String(n).padStart(2, '0')}`, origin: 'generated', lines, person, answer: ` a ${adjective} ${object}.`, source });
  }
  return cases;
}

/** The answerer's prompt: the model's format, with the agent lines where {{input}} is. */
export const ANSWERER_PROMPT = '{{input}}\nQuestion: What does {{task.person}} have?\nAnswer:\n';

/** Writes the case's system (reporters r0.. on a replay model, the answerer on the model) into `dir`. */
export function writeCaseSystem(dir: string, c: BlameCase, modelDir: string, strategy: AttributionStrategy = 'mean_l1_norm'): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const reporters = c.lines.map((_, i) => `r${i}`);
  const yaml = [
    'version: 1',
    `name: ${c.id}`,
    'models:',
    '  reports: { provider: replay, field: reports }',
    `  retrieval: { provider: local, path: ${JSON.stringify(modelDir)}, device: cpu, parameters: { max_tokens: 12, temperature: 0, stop: ["\\n"] } }`,
    'agents:',
    ...c.lines.flatMap((line, i) => [`  r${i}:`, `    label: ${JSON.stringify(line.label)}`, '    prompt: reporter.chord.md', '    model: reports']),
    '  answerer:',
    '    prompt: answerer.chord.md',
    '    model: retrieval',
    `    inputs: [${reporters.join(', ')}]`,
    '    input: { format: lines }',
    'output: answerer',
    `attribution: { model: retrieval, strategy: ${strategy}, topK: 1 }`,
    'datasets: { train: data/cases.jsonl }',
  ].join('\n');
  writeFileSync(join(dir, 'agentchord.yaml'), yaml + '\n');
  writeFileSync(join(dir, 'reporter.chord.md'), 'Report one fact.\n');
  writeFileSync(join(dir, 'answerer.chord.md'), ANSWERER_PROMPT);
  const reports = Object.fromEntries(c.lines.map((line, i) => [`r${i}`, line.text]));
  writeFileSync(join(dir, 'data', 'cases.jsonl'), JSON.stringify({ id: c.id, reports, person: c.person, answer: c.answer }) + '\n');
  return join(dir, 'agentchord.yaml');
}

export interface CaseRun {
  case: BlameCase;
  system: SystemConfig;
  /** The answerer's call (its block map has the token ranges) and its connection weights. */
  call: AgentCall;
  attribution: CallAttribution;
}

/** Runs one case through runForward (uncached) in `dir`. */
export async function runCase(c: BlameCase, dir: string, modelDir: string, backend: LocalModels): Promise<CaseRun> {
  const { system, problems } = loadSystemFile(writeCaseSystem(dir, c, modelDir));
  if (!system) throw new Error(`case ${c.id}: ${problems.map((p) => p.message).join('; ')}`);
  const runFolder = RunFolder.create(dir, {
    systemFile: system.file,
    kind: 'run',
    status: 'running',
    dataset: { split: 'train', file: system.datasets.train!, samples: 1 },
    attribution: { model: 'retrieval', strategy: system.attribution.strategy, topK: 1, surrogate: false },
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  });
  const sample = { id: c.id, fields: { reports: Object.fromEntries(c.lines.map((l, i) => [`r${i}`, l.text])), person: c.person, answer: c.answer } };
  const [run] = await runForward({
    system,
    samples: [sample],
    runFolder,
    models: makeModelResolver(system, { apiKey: () => undefined, cacheDir: false, localModels: backend }),
    attributor: makeAttributor(system, backend),
    concurrency: 1,
  });
  const index = run.calls.findIndex((call) => call.agent === 'answerer');
  return { case: c, system, call: run.calls[index], attribution: run.attributions[index] };
}
