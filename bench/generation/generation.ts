/**
 * Generation speed on the benchmark model: prefill (prompt tokens / time to first new token) and decode (new tokens /
 * s after the first), greedy, through the runtime API (bench/generation/runGenerate.ts in its own process), with the
 * PyTorch eager reference (bench/reference/torch_generate.py, same threads) for scale. Also reports how many of the
 * greedy tokens the two produce identically (float32 both: they may part at a near-tie, which is not an error).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BENCH_MODEL } from '../lib/benchModel';
import { writeRequestFile, type BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { BENCH_DIR } from '../lib/models';
import { fmt, ratio, type BenchResult } from '../lib/report';
import { randomIds } from '../lib/requests';
import { PYTHON, THREADS, torchEnv } from '../lib/sides';

const PROMPT_TOKENS = 512;
const NEW_TOKENS = 64;
const RUNNER = resolve('out', 'bench', 'generation', 'runGenerate.js');
const TORCH_GENERATE = resolve('bench', 'reference', 'torch_generate.py');

interface GenerationTiming {
  loadSeconds: number;
  promptTokens: number;
  prefillSeconds: number;
  decodeTokens: number;
  decodeSeconds: number;
  finishReason: string;
  ids: number[];
}

function runJson(command: string, args: string[], env: NodeJS.ProcessEnv, label: string): GenerationTiming {
  const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${label} exited with ${r.status}: ${(r.stderr ?? '').trim().slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as GenerationTiming;
}

/** Medians over runs of prefill and decode rates, and the last run's ids. */
function summarise(runs: GenerationTiming[]) {
  return {
    prefillRate: median(runs.map((r) => r.promptTokens / r.prefillSeconds)),
    decodeRate: median(runs.map((r) => r.decodeTokens / r.decodeSeconds)),
    decodeTokens: runs[runs.length - 1]!.decodeTokens,
    ids: runs[runs.length - 1]!.ids,
  };
}

/** Runs sequentially by design (one benchmark at a time on 2 cores), hence the synchronous child processes. */
export async function generation(ctx: BenchContext): Promise<BenchResult> {
  const promptFile = writeRequestFile('generation-prompt-512', randomIds(PROMPT_TOKENS, BENCH_MODEL.vocabSize, 512));
  const notes: string[] = [];
  let ours: ReturnType<typeof summarise> | undefined;
  let torch: ReturnType<typeof summarise> | undefined;
  if (!existsSync(RUNNER)) notes.push(`ours not measured: ${RUNNER} is missing (\`node scripts/build.mjs\` failed or was not run)`);
  else {
    const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };
    const args = [RUNNER, ctx.modelDir, promptFile, String(NEW_TOKENS), join(BENCH_DIR, 'cache'), ctx.device];
    ours = summarise(Array.from({ length: ctx.repeat }, () => runJson(process.execPath, args, env, 'runGenerate')));
  }
  if (ctx.torch.unavailable) notes.push(`torch not measured: ${ctx.torch.unavailable}`);
  else {
    const args = [TORCH_GENERATE, '--model', ctx.modelDir, '--prompt', promptFile, '--max-tokens', String(NEW_TOKENS), '--threads', String(THREADS)];
    torch = summarise(Array.from({ length: ctx.repeat }, () => runJson(PYTHON, args, torchEnv(), 'torch_generate.py')));
  }
  let sameTokens: number | undefined;
  if (ours && torch) {
    sameTokens = 0;
    while (sameTokens < Math.min(ours.ids.length, torch.ids.length) && ours.ids[sameTokens] === torch.ids[sameTokens]) sameTokens++;
  }
  return {
    name: 'generation',
    title: `Generation, greedy, prompt ${PROMPT_TOKENS} tokens, ${NEW_TOKENS} new (${ctx.repeat} run(s), medians)`,
    rows: [
      [`ours prefill (${ctx.device})`, fmt.rate(ours?.prefillRate)],
      ['ours decode', `${fmt.rate(ours?.decodeRate)}${ours && ours.decodeTokens < NEW_TOKENS - 1 ? ` (stopped after ${ours.decodeTokens + 1} tokens)` : ''}`],
      ['torch prefill', fmt.rate(torch?.prefillRate)],
      ['torch decode', fmt.rate(torch?.decodeRate)],
      ['prefill ratio ours / torch (higher is better)', fmt.ratio(ratio(ours?.prefillRate, torch?.prefillRate))],
      ['decode ratio ours / torch (higher is better)', fmt.ratio(ratio(ours?.decodeRate, torch?.decodeRate))],
      ['identical greedy tokens', sameTokens === undefined ? 'n/a' : `${sameTokens} of ${Math.min(ours!.ids.length, torch!.ids.length)}`],
    ],
    metrics: {
      oursPrefillTokensPerSecond: ours?.prefillRate ?? null,
      oursDecodeTokensPerSecond: ours?.decodeRate ?? null,
      torchPrefillTokensPerSecond: torch?.prefillRate ?? null,
      torchDecodeTokensPerSecond: torch?.decodeRate ?? null,
      identicalGreedyTokens: sameTokens ?? null,
    },
    notes,
  };
}
