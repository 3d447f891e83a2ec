/**
 * Child process of the generation benchmark (built by scripts/build.mjs into out/bench/generation/runGenerate.js):
 * loads the model through the runtime API, warms up, then greedily generates from the prompt and prints one JSON
 * line of timings: prefill = time to the first new token, decode = the rest.
 *   node out/bench/generation/runGenerate.js <modelDir> <promptIds.json> <maxTokens> <cacheDir> [device]
 */
import { readFileSync } from 'node:fs';
import { loadModel } from '../../src/backend/runtime/loadModel';
import type { DeviceChoice } from '../../src/protocol/attribution';

async function main(): Promise<void> {
  const [modelDir, promptFile, maxTokensArg, cacheDir, device = 'cpu'] = process.argv.slice(2);
  if (!modelDir || !promptFile || !maxTokensArg || !cacheDir) throw new Error('usage: runGenerate <modelDir> <promptIds.json> <maxTokens> <cacheDir>');
  const promptIds = JSON.parse(readFileSync(promptFile, 'utf8')) as number[];
  const maxTokens = Number(maxTokensArg);
  const t0 = performance.now();
  const model = await loadModel(modelDir, { device: device as DeviceChoice, cacheDir });
  const loadSeconds = (performance.now() - t0) / 1000;
  const options = { maxTokens, temperature: 0, topP: 1, stop: [] };
  await model.generate(promptIds.slice(0, 16), { ...options, maxTokens: 2 }); // warm-up: first-run allocations
  const stamps: number[] = [];
  const ids: number[] = [];
  const start = performance.now();
  const result = await model.generate(promptIds, options, (id) => {
    stamps.push(performance.now());
    ids.push(id);
  });
  await model.dispose();
  if (stamps.length === 0) throw new Error('generate produced no token');
  const prefillSeconds = (stamps[0]! - start) / 1000;
  const decodeSeconds = (stamps[stamps.length - 1]! - stamps[0]!) / 1000;
  process.stdout.write(JSON.stringify({
    loadSeconds, promptTokens: promptIds.length, prefillSeconds, decodeTokens: stamps.length - 1, decodeSeconds,
    finishReason: result.finishReason, ids,
  }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`runGenerate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
