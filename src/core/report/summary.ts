/**
 * What a run's report says, computed from its run folder: per-agent blame, connection weights of every attributed
 * call, trajectories, scores. Shared by `agentchord report` (text and JSON), the HTML report and the extension.
 */
import { tokenText } from './tokenText';
import { agentBlame, type AgentBlame } from '../engine/backward';
import { sourceNodeId } from '../engine/graph';
import type { RunFolderContents } from '../engine/runFolder';
import type { AgentCall, CallAttribution, RunManifest, Trajectory } from '../engine/types';

export interface CallWeights {
  callId: string;
  sampleId: string;
  agent: string;
  status: CallAttribution['status'];
  reason?: string;
  surrogate: boolean;
  /** Block id -> weight under the run's strategy, in block order. */
  weights: Array<{ block: string; weight?: number; kept: boolean }>;
}

export interface RunSummary {
  runId: string;
  status: RunManifest['status'];
  kind: RunManifest['kind'];
  strategy: string;
  topK: number;
  attributionModel?: string;
  /** Some call's weights were computed by the attribution model for an agent that ran on another model. */
  surrogate: boolean;
  samples: number;
  /** Mean score per split. */
  scores: Record<string, number>;
  blame: AgentBlame[];
  calls: CallWeights[];
  trajectories: Trajectory[];
  proposals: Array<{ step: number; agents: string[]; accepted?: boolean; scoreBefore?: number; scoreAfter?: number }>;
  /** Calls whose weights are unavailable, with the reasons (deduplicated). */
  unavailable: { calls: number; reasons: string[] };
  usage: RunManifest['usage'];
  /** Imported runs: the trace files read (with their SHA-256), and the verdicts blame used. */
  imported?: { sources: Array<{ file: string; sha256: string }>; traces: number; verdicts?: string };
  /**
   * A sanity check against the recency baseline: in how many weighted calls with several blocks the LAST block got
   * the highest weight. Near all of them means the weights may say little more than "the nearest text matters".
   */
  recency: { calls: number; lastBlockTop: number };
  /** Per call with token saliency: its most salient input tokens (highest L1), as text. */
  salientTokens: Array<{ callId: string; agent: string; tokens: string[] }>;
}

export function summarizeRun(run: RunFolderContents): RunSummary {
  const attributionOf = new Map(run.attribution.map((a) => [a.callId, a]));
  const graphSamples = new Set(run.graphs.map((g) => g.sampleId));
  const keptEdges = new Set(run.graphs.flatMap((g) => g.edges.filter((e) => e.kept && e.kind === 'connection').map((e) => `${e.from}\u0000${e.to}`)));
  const agents = [...new Set(run.calls.map((c) => c.agent))];
  // Calls of samples that went through the backward pass (acceptance-test runs are only scored).
  const attributed = run.calls.filter((c) => graphSamples.has(c.sampleId) || run.graphs.length === 0);
  const calls = attributed.map((c) => callWeights(c, attributionOf.get(c.id), keptEdges));
  const unavailable = calls.filter((c) => c.status === 'unavailable');
  const scores: Record<string, number[]> = {};
  for (const s of run.samples) (scores[s.split] ??= []).push(s.score);
  return {
    runId: run.manifest.id,
    status: run.manifest.status,
    kind: run.manifest.kind,
    strategy: run.manifest.attribution.strategy,
    topK: run.manifest.attribution.topK,
    attributionModel: run.manifest.attribution.model,
    // Only weights a model computed can be a surrogate's: a single-block call gets weight 1 and an unavailable one
    // none, whatever model the agent ran on (in demo-blame the replayed reporters are single-block calls, and the
    // answerer is attributed on its own model). run.json's flag says only that some agent runs on another model.
    surrogate: calls.some((c) => c.surrogate && c.status === 'ok'),
    samples: run.samples.length,
    scores: Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length])),
    blame: agentBlame(run.trajectories, agents),
    calls,
    trajectories: run.trajectories,
    proposals: run.proposals.map((p) => ({
      step: p.step,
      agents: p.changes.map((c) => c.agent),
      accepted: p.accepted,
      scoreBefore: p.scoreBefore,
      scoreAfter: p.scoreAfter,
    })),
    unavailable: { calls: unavailable.length, reasons: [...new Set(unavailable.map((c) => c.reason ?? 'unknown'))] },
    usage: run.manifest.usage,
    ...(run.manifest.imported
      ? {
          imported: {
            sources: run.manifest.imported.sources.map(({ file, sha256 }) => ({ file, sha256 })),
            traces: run.manifest.imported.traces,
            ...(run.manifest.blame ? { verdicts: run.manifest.blame.verdicts } : {}),
          },
        }
      : {}),
    recency: recencyCheck(attributed, attributionOf),
    salientTokens: attributed.flatMap((c) => {
      const tokens = salientTokens(c, attributionOf.get(c.id));
      return tokens.length ? [{ callId: c.id, agent: c.agent, tokens }] : [];
    }),
  };
}

function recencyCheck(calls: AgentCall[], attributionOf: Map<string, CallAttribution>): RunSummary['recency'] {
  let n = 0;
  let last = 0;
  for (const c of calls) {
    const a = attributionOf.get(c.id);
    if (a?.status !== 'ok' || c.blocks.length < 2) continue;
    n++;
    const ws = c.blocks.map((b) => a.weights[b.id] ?? -Infinity);
    if (ws.every((w) => ws[ws.length - 1] >= w)) last++;
  }
  return { calls: n, lastBlockTop: last };
}

/**
 * The `count` most salient words of the call's input blocks (a word's saliency: the highest L1 of its tokens), in
 * text order. Token texts are joined into words so that "Li" + "ly" reads as "Lily": a token continues the word
 * before it unless its text starts with a space (or the word ended with one).
 */
function salientTokens(call: AgentCall, a: CallAttribution | undefined, count = 5): string[] {
  const t = a?.tokens;
  if (!t) return [];
  const words: Array<{ text: string; l1: number; at: number }> = [];
  for (const b of call.blocks) {
    if (b.tokenStart === undefined || b.tokenEnd === undefined) continue;
    let word: { text: string; l1: number; at: number } | undefined;
    for (let i = Math.max(b.tokenStart, t.offset); i < b.tokenEnd && i - t.offset < t.pieces.length; i++) {
      const k = i - t.offset;
      const raw = tokenText(t, k);
      const text = raw.trim();
      const isWordPiece = /^[\p{L}\p{N}]+$/u.test(text);
      const continues = word !== undefined && isWordPiece && !/^\s/.test(raw);
      if (continues) {
        word!.text += text;
        word!.l1 = Math.max(word!.l1, t.l1[k]);
      } else {
        if (word) words.push(word);
        word = isWordPiece ? { text, l1: t.l1[k], at: k } : undefined;
      }
    }
    if (word) words.push(word);
  }
  return words
    .sort((x, y) => y.l1 - x.l1 || x.at - y.at)
    .slice(0, count)
    .sort((x, y) => x.at - y.at)
    .map((w) => w.text);
}

function callWeights(call: AgentCall, a: CallAttribution | undefined, kept: Set<string>): CallWeights {
  return {
    callId: call.id,
    sampleId: call.sampleId,
    agent: call.agent,
    status: a?.status ?? 'unavailable',
    ...(a?.status === 'unavailable' || !a ? { reason: a?.reason ?? 'no attribution recorded' } : {}),
    surrogate: a?.surrogate ?? false,
    weights: call.blocks.map((b) => {
      const w = a?.weights[b.id];
      const from = sourceNodeId(b.source, call.turn);
      return { block: b.id, ...(typeof w === 'number' ? { weight: w } : {}), kept: kept.has(`${from}\u0000${call.id}`) };
    }),
  };
}

/** The plain-text report `agentchord report` prints. */
export function formatSummary(s: RunSummary, options: { maxTrajectories?: number } = {}): string {
  const lines: string[] = [];
  lines.push(`run ${s.runId} (${s.kind}, ${s.status}): ${s.samples} sample outcome(s)`);
  if (s.imported) {
    const files = s.imported.sources.map((f) => `${f.file} (sha256 ${f.sha256.slice(0, 12)}…)`).join(', ');
    lines.push(`imported: ${s.imported.traces} trace(s) from ${files}; verdicts: ${s.imported.verdicts ?? 'none yet (agentchord blame)'}`);
  }
  const scores = Object.entries(s.scores).map(([k, v]) => `${k} ${v.toFixed(3)}`);
  if (scores.length) lines.push(`mean score: ${scores.join(', ')}`);
  lines.push(`attribution: ${s.attributionModel ?? 'none'}, ${s.strategy}, top-${s.topK}${s.surrogate ? ' — SURROGATE model (agents ran on other models; weights are teacher-forced estimates)' : ''}`);
  if (s.recency.calls) {
    lines.push(`recency check: the last block got the highest weight in ${s.recency.lastBlockTop} of ${s.recency.calls} weighted multi-block call(s)`);
  }
  if (s.unavailable.calls) lines.push(`weights unavailable for ${s.unavailable.calls} call(s): ${s.unavailable.reasons.join('; ')}`);
  lines.push('', 'blame (share of trajectories through each agent):');
  for (const b of s.blame) lines.push(`  ${b.agent.padEnd(20)} ${(b.share * 100).toFixed(0).padStart(3)}%  ${'█'.repeat(Math.round(b.share * 20))} (${b.trajectories})`);
  lines.push('', 'connection weights (* = kept in the attribution graph):');
  for (const c of s.calls) {
    if (c.weights.length === 0) continue;
    const ws = c.weights.map((w) => `${w.block}=${w.weight === undefined ? '—' : formatWeight(w.weight)}${w.kept ? '*' : ''}`).join('  ');
    lines.push(`  ${c.callId}: ${ws}${c.status === 'unavailable' ? ` (unavailable: ${c.reason})` : ''}`);
  }
  if (s.salientTokens.length) {
    lines.push('', 'most salient input tokens (L1):');
    for (const t of s.salientTokens.slice(0, 10)) lines.push(`  ${t.callId}: ${t.tokens.map((x) => JSON.stringify(x)).join(' ')}`);
  }
  const shown = s.trajectories.slice(0, options.maxTrajectories ?? 20);
  lines.push('', `trajectories (${s.trajectories.length}${shown.length < s.trajectories.length ? `, first ${shown.length}` : ''}):`);
  for (const t of shown) lines.push(`  [${t.sampleId}] ${t.path.join(' -> ')}`, `      loss: ${t.loss.replace(/\s+/g, ' ').slice(0, 200)}`);
  if (s.proposals.length) {
    lines.push('', 'proposals:');
    for (const p of s.proposals) {
      const verdict = p.accepted === undefined ? 'kept (no acceptance test)' : p.accepted ? 'accepted' : 'rejected';
      const scores = p.scoreAfter !== undefined ? ` (validation ${p.scoreBefore?.toFixed(3)} -> ${p.scoreAfter.toFixed(3)})` : '';
      lines.push(`  step ${p.step}: ${p.agents.join(', ')} — ${verdict}${scores}`);
    }
  }
  return lines.join('\n');
}

export function formatWeight(w: number): string {
  return Math.abs(w) >= 0.01 || w === 0 ? w.toFixed(3) : w.toExponential(2);
}
