/**
 * UI benchmark: building the graph panel's view model (ELK layout included) for a large system, 50 agents and
 * about 1000 connections with a 3-sample run, as a ratio to the same for a 5-agent system measured in the same run
 * (so the number means something on any machine, loaded or not). Also the size of the `state` message the webview
 * receives. Asserts nothing.
 */
import { performance } from 'node:perf_hooks';
import type { SystemConfig } from '../../src/core/system/types';
import { buildGraphViewModel, runChoice, type RunContents } from '../../src/extension/pure/graph/viewModel';
import { denseSystemYaml, manifest, outcome, sampleRun, systemFromYaml } from '../../test/unit/extension/pure/graph/fixtures';
import type { BenchContext } from '../lib/context';
import { median } from '../lib/measure';
import { fmt, type BenchResult } from '../lib/report';

/** A run of `system` on 3 samples (2 failing) with deterministic connection weights. */
function runOf(system: SystemConfig): RunContents {
  const weight = (agent: string, source: string) => ((agent.length * 31 + source.length * 17 + source.charCodeAt(source.length - 1)) % 97) / 97;
  const samples = ['s1', 's2', 's3'].map((id, i) => ({ id, loss: i < 2 ? 'wrong' : '', data: sampleRun(system, id, i < 2 ? 'wrong' : '', weight) }));
  return {
    manifest: manifest('bench', system),
    samples: samples.map((s) => outcome(s.id, s.loss ? 0 : 1, s.loss)),
    graphs: samples.map((s) => s.data.graph),
    trajectories: samples.flatMap((s) => s.data.trajectories),
  };
}

async function timeBuild(system: SystemConfig, run: RunContents, mode: 'full' | 'topk', repeat: number) {
  const data = { runs: [runChoice(run)], run };
  let stateBytes = 0;
  const once = async () => {
    const start = performance.now();
    const model = await buildGraphViewModel(system, data, { mode, sampleId: 's1' });
    const ms = performance.now() - start;
    stateBytes = JSON.stringify(model).length;
    return ms;
  };
  await once(); // warm-up: ELK's code is compiled on first use
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) times.push(await once());
  return { ms: median(times), stateBytes };
}

export async function graphUi(ctx: BenchContext): Promise<BenchResult> {
  const small = systemFromYaml(denseSystemYaml(5, 8));
  const large = systemFromYaml(denseSystemYaml(50, 1000));
  const edges = large.agents.reduce((n, a) => n + a.inputs.length, 0);
  const repeat = Math.max(3, ctx.repeat);
  // Interleaved pairs would be fairer under load, but one build of the large graph is long enough to be stable.
  const ref = await timeBuild(small, runOf(small), 'full', repeat);
  const full = await timeBuild(large, runOf(large), 'full', repeat);
  const topk = await timeBuild(large, runOf(large), 'topk', repeat);
  const ratio = (x: number) => x / ref.ms;
  return {
    name: 'ui-graph',
    title: `Graph view model + ELK layout: 50 agents / ${edges} edges vs 5 agents (median of ${repeat})`,
    rows: [
      ['reference: 5 agents, full', `${ref.ms.toFixed(1)} ms`],
      [`50 agents, ${edges} edges, full`, `${full.ms.toFixed(1)} ms (${fmt.ratio(ratio(full.ms))} the reference)`],
      ['50 agents, top-k of one sample', `${topk.ms.toFixed(1)} ms (${fmt.ratio(ratio(topk.ms))} the reference)`],
      ['state message, 50 agents full', `${(full.stateBytes / 1024).toFixed(0)} KiB`],
    ],
    metrics: {
      referenceMs: ref.ms,
      fullMs: full.ms,
      topkMs: topk.ms,
      fullRatio: ratio(full.ms),
      topkRatio: ratio(topk.ms),
      fullStateKiB: full.stateBytes / 1024,
    },
    notes: ['Ratios to the 5-agent reference from the same run; milliseconds depend on the machine and its load.'],
  };
}
