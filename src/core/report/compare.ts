/**
 * Two runs side by side (`agentchord compare <a> <b>`, `report --compare`): per-sample score changes, how each agent's
 * share of the blame moved, and each agent's prompt in both runs, with a unified diff where its hash differs. Prompts
 * are read from the calls themselves (the system message each agent was sent), so the comparison needs no prompt
 * files and holds for imported runs too.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { agentBlame } from '../engine/backward';
import type { RunFolderContents } from '../engine/runFolder';

export interface RunComparison {
  a: { runId: string; samples: number; meanScore?: number };
  b: { runId: string; samples: number; meanScore?: number };
  /** Samples in both runs, by id (an optimize run's step prefix `s<n>:` ignored when ids do not match otherwise). */
  samples: Array<{ sampleId: string; scoreA: number; scoreB: number; delta: number }>;
  onlyInA: string[];
  onlyInB: string[];
  /** Per agent, its share of the trajectories in each run. */
  blame: Array<{ agent: string; shareA: number; shareB: number; delta: number }>;
  /** Per agent, the hash of its prompt in each run and the diff when they differ. */
  prompts: Array<{ agent: string; hashA?: string; hashB?: string; changed: boolean; diff?: string }>;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : undefined);
const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
const stripStep = (id: string) => id.replace(/^s\d+:/, '');

/** Each agent's system prompt, from the first call that sent one. */
function promptsOf(run: RunFolderContents): Map<string, string> {
  const prompts = new Map<string, string>();
  for (const c of run.calls) {
    if (prompts.has(c.agent)) continue;
    const system = c.messages.find((m) => m.role === 'system');
    if (system) prompts.set(c.agent, system.content);
  }
  return prompts;
}

export function compareRuns(a: RunFolderContents, b: RunFolderContents): RunComparison {
  const byId = (run: RunFolderContents, key: (id: string) => string) => new Map(run.samples.map((s) => [key(s.sampleId), s.score]));
  let scoresA = byId(a, (id) => id);
  let scoresB = byId(b, (id) => id);
  if (![...scoresA.keys()].some((id) => scoresB.has(id))) {
    scoresA = byId(a, stripStep);
    scoresB = byId(b, stripStep);
  }
  const samples = [...scoresA]
    .filter(([id]) => scoresB.has(id))
    .map(([sampleId, scoreA]) => ({ sampleId, scoreA, scoreB: scoresB.get(sampleId)!, delta: scoresB.get(sampleId)! - scoreA }));
  const agents = [...new Set([...a.calls, ...b.calls].map((c) => c.agent))];
  const shares = (run: RunFolderContents) => new Map(agentBlame(run.trajectories, agents).map((x) => [x.agent, x.share]));
  const [sa, sb] = [shares(a), shares(b)];
  const [pa, pb] = [promptsOf(a), promptsOf(b)];
  return {
    a: { runId: a.manifest.id, samples: a.samples.length, meanScore: mean(a.samples.map((s) => s.score)) },
    b: { runId: b.manifest.id, samples: b.samples.length, meanScore: mean(b.samples.map((s) => s.score)) },
    samples,
    onlyInA: [...scoresA.keys()].filter((id) => !scoresB.has(id)),
    onlyInB: [...scoresB.keys()].filter((id) => !scoresA.has(id)),
    blame: agents
      .map((agent) => ({ agent, shareA: sa.get(agent) ?? 0, shareB: sb.get(agent) ?? 0, delta: (sb.get(agent) ?? 0) - (sa.get(agent) ?? 0) }))
      .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.agent.localeCompare(y.agent)),
    prompts: agents.map((agent) => {
      const [ta, tb] = [pa.get(agent), pb.get(agent)];
      const changed = ta !== tb;
      return {
        agent,
        ...(ta !== undefined ? { hashA: hash(ta) } : {}),
        ...(tb !== undefined ? { hashB: hash(tb) } : {}),
        changed,
        ...(changed ? { diff: createTwoFilesPatch(`${a.manifest.id}/${agent}`, `${b.manifest.id}/${agent}`, ta ?? '', tb ?? '', '', '', { context: 2 }) } : {}),
      };
    }),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const signed = (x: number, f: (x: number) => string) => (x > 0 ? '+' : x < 0 ? '-' : '±') + f(Math.abs(x));

/** The comparison as text. */
export function formatComparison(c: RunComparison): string {
  const lines: string[] = [];
  const score = (s?: number) => (s === undefined ? 'n/a' : s.toFixed(3));
  lines.push(`A ${c.a.runId}: ${c.a.samples} samples, mean score ${score(c.a.meanScore)}`);
  lines.push(`B ${c.b.runId}: ${c.b.samples} samples, mean score ${score(c.b.meanScore)}`);
  const better = c.samples.filter((s) => s.delta > 0).length;
  const worse = c.samples.filter((s) => s.delta < 0).length;
  lines.push('', `samples in both: ${c.samples.length} (${better} better, ${worse} worse, ${c.samples.length - better - worse} unchanged); only in A: ${c.onlyInA.length}, only in B: ${c.onlyInB.length}`);
  for (const s of c.samples.filter((x) => x.delta !== 0)) lines.push(`  ${s.sampleId}: ${s.scoreA.toFixed(3)} -> ${s.scoreB.toFixed(3)} (${signed(s.delta, (x) => x.toFixed(3))})`);
  lines.push('', 'blame shift (share of trajectories through each agent, A -> B):');
  for (const b of c.blame) lines.push(`  ${b.agent.padEnd(20)} ${pct(b.shareA).padStart(4)} -> ${pct(b.shareB).padStart(4)}  (${signed(b.delta, pct)})`);
  lines.push('', 'prompts:');
  for (const p of c.prompts) lines.push(`  ${p.agent.padEnd(20)} ${p.changed ? `changed ${p.hashA ?? '—'} -> ${p.hashB ?? '—'}` : `same ${p.hashA ?? '—'}`}`);
  for (const p of c.prompts.filter((x) => x.diff)) lines.push('', p.diff!.trimEnd());
  return lines.join('\n');
}
