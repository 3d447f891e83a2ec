/**
 * The batch loop of GBC optimization: every step runs a batch of N training samples forward (with connection
 * weights), scores them with the verbal loss, propagates the loss backward into trajectories, and asks the optimizer
 * for new prompts of the blamed agents (paper: MultiWOZ N=3, S=10 steps; tau-bench N=1).
 *
 * Candidate prompts live only in memory and in the run folder: they reach the agents through runForward's `prompts`
 * overrides, and every step's suggestion is written as a Proposal. Prompt files are never written here (a person
 * applies a proposal with `agentchord apply`).
 *
 * Acceptance test (on by default; the paper had none): the current and the candidate prompts both run on a batch of
 * validation samples; the candidate is kept only if its score does not drop.
 *
 * A checkpoint is written after every step; a crash, a cancel or an exhausted budget leaves a run that `--resume`
 * continues from the step that did not finish (the records that step had written are dropped first, so nothing is
 * recorded twice). The process writing a run holds its writer lock (runFolder.ts) until optimize() returns.
 *
 * Every way this function ends leaves run.json at completed, failed, cancelled or budget_exhausted: what can refuse
 * to start (loss, optimizer, an unpriced cost budget) does so before a new run folder exists, and the loss of each
 * sample is awaited under loss.timeoutSeconds.
 */
import { readFileSync } from 'node:fs';
import { makeLoss, type LossFunction } from '../loss';
import { DEFAULT_PRICES, priceFor, UsageLedger } from '../llm/usage';
import { makeOptimizer, type Optimizer, type OptimizerResult } from '../optimizer';
import type { EndpointModel, SystemConfig } from '../system/types';
import { withTimeout } from '../util/timeout';
import { backwardSample } from './backward';
import { Budget, BudgetExhaustedError, isBudgetStop, type BudgetLimits, NOTHING_SPENT } from './budget';
import { openForResume } from './checkpoint';
import { loadDataset, type Split, type TaskSample } from './dataset';
import { estimateOptimization, type RunEstimate } from './estimate';
import { localModelPrices, priceNameOf, runForward, type ForwardOptions, type SampleRun } from './forward';
import type { Attributor } from './attribution';
import type { ModelResolver } from './models';
import { RunFolder, manifestAttribution } from './runFolder';
import type { AgentCall, Checkpoint, Proposal, RunManifest, SampleOutcome, Trajectory } from './types';

export interface OptimizeOptions {
  system: SystemConfig;
  /** Where `.agentchord/runs/` goes. Default: the system's folder. */
  workspaceDir?: string;
  split?: Split;
  /** N: training samples per step. Default optimizer.batchSize. */
  batchSize?: number;
  /** S: steps. Default optimizer.steps. */
  steps?: number;
  /** Default optimizer.acceptanceTest (true). */
  acceptanceTest?: boolean;
  /** Validation samples per acceptance test. Default: the batch size. */
  validationBatchSize?: number;
  /** Overrides optimizer.budget key by key. */
  budget?: BudgetLimits;
  signal?: AbortSignal;
  /** A run folder to continue from its checkpoint. */
  resume?: string;
  models: ModelResolver;
  attributor?: Attributor;
  noAttributionReason?: string;
  /** Default: from the system file (loss:, optimizer:). */
  loss?: LossFunction;
  optimizer?: Optimizer;
  concurrency?: number;
  onProgress?: (e: OptimizeProgress) => void;
  /** Called once with the pre-flight estimate, before any model call; return false to stop there. */
  onEstimate?: (e: RunEstimate) => boolean | void;
  /** The forward pass (tests may wrap it). Default runForward. */
  forward?: (o: ForwardOptions) => Promise<SampleRun[]>;
}

export type OptimizePhase = 'forward' | 'backward' | 'optimizer' | 'acceptance';

export interface OptimizeProgress {
  step: number;
  steps: number;
  phase: OptimizePhase;
  message: string;
  /** Within the phase: samples done / total, when known. */
  done?: number;
  total?: number;
}

export interface OptimizeResult {
  folder: RunFolder;
  status: RunManifest['status'];
  /** Steps finished (the next step to run on resume). */
  stepsDone: number;
  /** The prompts the optimization ended with (agent -> text). */
  prompts: Record<string, string>;
  history: Checkpoint['history'];
  /** Paths of the proposals written by this session. */
  proposals: string[];
  /** What happened at each step, for the CLI to print. */
  log: string[];
  estimate: RunEstimate;
  /** Why the run stopped early (budget, cancel). */
  stopReason?: string;
}

export async function optimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const { system } = o;
  const config = system.optimizer;
  const split = o.split ?? 'train';
  const batchSize = o.batchSize ?? config.batchSize;
  const steps = o.steps ?? config.steps;
  const acceptanceTest = o.acceptanceTest ?? config.acceptanceTest;
  const validationBatchSize = o.validationBatchSize ?? batchSize;
  if (!(batchSize >= 1 && Number.isInteger(batchSize))) throw new Error(`batch size must be an integer >= 1 (got ${batchSize})`);
  if (!(steps >= 1 && Number.isInteger(steps))) throw new Error(`steps must be an integer >= 1 (got ${steps})`);

  const train = loadDataset(system, split);
  if (train.length === 0) throw new Error(`${system.datasets[split]}: the ${split} dataset is empty`);
  let validation: TaskSample[] = [];
  if (acceptanceTest) {
    if (!system.datasets.validation) {
      throw new Error(`${system.file}: the acceptance test needs datasets.validation (or run with --no-acceptance-test)`);
    }
    validation = loadDataset(system, 'validation');
    if (validation.length === 0) throw new Error(`${system.datasets.validation}: the validation dataset is empty`);
  }

  // Whatever can refuse to start does so before a new run folder exists: a bad loss or optimizer, a cost budget that
  // cannot be counted. A resumed run is locked first (openForResume); a refusal leaves its status as it was. Any
  // failure once the run says running marks it failed; the lock is given back however this ends.
  const resumed = o.resume ? openForResume(o.resume, system.agents.map((a) => a.name)) : undefined;
  let folder: RunFolder | undefined = resumed?.folder;
  try {
    return await optimizeLocked();
  } catch (err) {
    if (folder && folder.current.status === 'running') finish(folder, { status: 'failed', error: messageOf(err) }, err);
    throw err;
  } finally {
    folder?.unlock();
  }

  async function optimizeLocked(): Promise<OptimizeResult> {
    let prompts = resumed ? { ...resumed.checkpoint.prompts } : readPromptFiles(system);
    const history: Checkpoint['history'] = resumed ? [...resumed.checkpoint.history] : [];
    const firstStep = resumed ? resumed.checkpoint.step : 0;

    const estimate = estimateOptimization({ system, prompts, train, validation, steps: steps - firstStep, batchSize, acceptanceTest, validationBatchSize });
    const ledger = new UsageLedger(localModelPrices(system));
    const limits = { ...config.budget, ...definedOnly(o.budget ?? {}) };
    if (limits.maxCostUsd !== undefined) refuseUnpricedModels(system, o);
    const budget = new Budget(limits, ledger, resumed?.checkpoint.usage ?? NOTHING_SPENT);

    let currentStep = firstStep;
    const guardedModels = memoize((name: string) => budget.guard(o.models(name)));
    // The judge's and the optimizer's calls are not agent calls: runForward does not record them, the guard does.
    const recorded = (label: string) =>
      memoize((name: string) => budget.guard(o.models(name), { agent: label, model: priceNameOf(system, name), step: () => currentStep }));
    const loss = o.loss ?? makeLoss(system, { resolveModel: recorded('(judge)') });
    const optimizer = o.optimizer ?? makeOptimizer(system, { resolveModel: recorded('(optimizer)') });
    const forward = o.forward ?? runForward;

    folder ??= RunFolder.create(
      o.workspaceDir ?? system.dir,
      {
        systemFile: system.file,
        kind: 'optimize',
        status: 'running',
        dataset: { split, file: system.datasets[split]!, samples: train.length },
        attribution: manifestAttribution(system),
        usage: { ...NOTHING_SPENT },
      },
      { lock: true },
    );
    const run = folder;
    run.updateManifest({ status: 'running', error: undefined });
    const result: OptimizeResult = { folder: run, status: 'running', stepsDone: firstStep, prompts, history, proposals: [], log: [], estimate };
    if (o.onEstimate?.(estimate) === false) {
      run.updateManifest({ status: 'cancelled', error: 'stopped after the estimate' });
      return { ...result, status: 'cancelled', stopReason: 'stopped after the estimate' };
    }

    const progress = (phase: OptimizePhase, message: string, extra: { done?: number; total?: number } = {}) =>
      o.onProgress?.({ step: currentStep, steps, phase, message, ...extra });

    /** One forward pass + loss on `samples` (ids prefixed so that every call id in the run folder is unique). */
    const evaluate = async (samples: TaskSample[], candidate: Record<string, string>, label: string, splitName: Split, attributed: boolean) => {
      budget.check();
      const runs = await forward({
        system,
        samples: samples.map((s) => ({ ...s, id: `${label}:${s.id}` })),
        runFolder: run,
        prompts: candidate,
        models: guardedModels,
        attributor: attributed ? o.attributor : undefined,
        noAttributionReason: attributed ? o.noAttributionReason : 'not computed for acceptance-test runs (only scores are needed)',
        concurrency: o.concurrency,
        signal: o.signal,
        usage: ledger,
        usageStep: currentStep,
        onProgress: (e) => e.type === 'sample' && progress(attributed ? 'forward' : 'acceptance', label, { done: e.samplesDone, total: e.samplesTotal }),
      });
      const outcomes: SampleOutcome[] = [];
      for (const sampleRun of runs) {
        // The loss may be user code (or a judge behind retries): it gets loss.timeoutSeconds, then the run fails.
        const scored = await withTimeout(
          (signal) => loss.evaluate({ sample: sampleRun.sample, output: sampleRun.output, environment: sampleRun.environment }, signal),
          { seconds: system.timeouts.lossSeconds, what: `loss ${loss.name} of sample "${sampleRun.sample.id}"`, setting: 'loss.timeoutSeconds', signal: o.signal },
        );
        const outcome: SampleOutcome = { sampleId: sampleRun.sample.id, split: splitName, output: sampleRun.output, metrics: scored.metrics, score: scored.score, loss: scored.loss };
        run.appendSample(outcome);
        outcomes.push(outcome);
      }
      return { runs, outcomes, score: mean(outcomes.map((x) => x.score)) };
    };

    // History entries of the step being redone on resume are left out (it will add them again). `files`: the record
    // files' sizes when `step` begins, so a resume drops what that step wrote before it stopped.
    let stepStart = run.recordSizes();
    const saveCheckpoint = (step: number, files: Record<string, number>) =>
      run.writeCheckpoint({ runId: run.id, step, done: [], prompts, history: history.filter((h) => h.step < step), usage: budget.spent(), files });

    try {
      saveCheckpoint(firstStep, stepStart); // even a run killed during its first step can resume
      for (currentStep = firstStep; currentStep < steps; currentStep++) {
        const step = currentStep;
        stepStart = run.recordSizes();
        const stepDone = () => saveCheckpoint(step + 1, run.recordSizes());
        const batch = pick(train, step * batchSize, batchSize);
        progress('forward', `step ${step + 1}/${steps}: running ${batch.length} training sample(s)`);
        const trained = await evaluate(batch, prompts, `s${step}`, split, true);

        progress('backward', `step ${step + 1}/${steps}: backward pass`);
        const trajectories: Trajectory[] = [];
        const calls: AgentCall[] = [];
        for (const [i, sampleRun] of trained.runs.entries()) {
          const back = backwardSample(sampleRun.sample.id, sampleRun.calls, sampleRun.attributions, trained.outcomes[i].loss, {
            topK: system.attribution.topK,
            outputAgent: system.output,
          });
          run.appendGraph(back.graph);
          run.appendTrajectories(back.trajectories);
          trajectories.push(...back.trajectories);
          calls.push(...sampleRun.calls);
        }
        history.push({ step, prompts, score: trained.score });

        const stepLog = `step ${step + 1}: train score ${trained.score.toFixed(3)}, ${trajectories.length} trajector${trajectories.length === 1 ? 'y' : 'ies'}`;
        if (trajectories.length === 0) {
          result.log.push(`${stepLog}; every sample correct, no update`);
          stepDone();
          continue;
        }

        progress('optimizer', `step ${step + 1}/${steps}: ${optimizer.kind} optimizer`);
        budget.check();
        const proposed = keepOptimizable(await optimizer.propose({ system, prompts, trajectories, calls, outcomes: trained.outcomes, history }, o.signal), system);
        if (!proposed.ok) {
          result.log.push(`${stepLog}; no proposal: ${proposed.message}`);
          stepDone();
          continue;
        }
        const candidate = { ...prompts };
        for (const change of proposed.changes) candidate[change.agent] = change.after;
        const proposal: Proposal = {
          runId: run.id,
          step,
          optimizer: optimizer.kind,
          reasoning: proposed.reasoning,
          changes: proposed.changes,
          trajectories,
          scoreBefore: trained.score,
        };

        if (acceptanceTest) {
          const valBatch = pick(validation, step * validationBatchSize, Math.min(validationBatchSize, validation.length));
          progress('acceptance', `step ${step + 1}/${steps}: acceptance test on ${valBatch.length} validation sample(s)`);
          const current = await evaluate(valBatch, prompts, `s${step}:val-current`, 'validation', false);
          const next = await evaluate(valBatch, candidate, `s${step}:val-candidate`, 'validation', false);
          proposal.scoreBefore = current.score;
          proposal.scoreAfter = next.score;
          proposal.accepted = next.score >= current.score;
        }
        const file = run.writeProposal(proposal);
        result.proposals.push(file);
        const changed = proposed.changes.map((c) => c.agent).join(', ');
        if (proposal.accepted === false) {
          result.log.push(`${stepLog}; proposal for ${changed} rejected (validation ${proposal.scoreBefore!.toFixed(3)} -> ${proposal.scoreAfter!.toFixed(3)}): ${file}`);
        } else {
          prompts = candidate;
          const scores = proposal.accepted ? ` (validation ${proposal.scoreBefore!.toFixed(3)} -> ${proposal.scoreAfter!.toFixed(3)})` : '';
          result.log.push(`${stepLog}; proposal for ${changed} kept${scores}: ${file}`);
        }
        stepDone();
      }
    } catch (err) {
      const spent = budget.spent();
      // The step that did not finish is redone on resume, from the prompts it started with. A checkpoint that cannot
      // be written (a full disk) must not keep the status from reaching run.json: the previous one still resumes.
      const unsaved = attempt(() => saveCheckpoint(currentStep, stepStart));
      const note = unsaved ? ` (the checkpoint of step ${currentStep + 1} could not be saved: ${unsaved}; a resume starts from the last one saved)` : '';
      if (isBudgetStop(err)) {
        const reason = (findCause(err) as BudgetExhaustedError).reason;
        finish(run, { status: 'budget_exhausted', usage: spent, error: `budget exhausted: ${reason}; resume with --resume ${run.dir}${note}` }, err);
        return { ...result, status: 'budget_exhausted', stepsDone: currentStep, prompts, stopReason: `budget exhausted: ${reason}` };
      }
      if (o.signal?.aborted) {
        finish(run, { status: 'cancelled', usage: spent, error: note ? note.trim() : undefined }, err);
        return { ...result, status: 'cancelled', stepsDone: currentStep, prompts, stopReason: 'cancelled' };
      }
      finish(run, { status: 'failed', usage: spent, error: messageOf(err) + note }, err);
      throw err;
    }
    finish(run, { status: 'completed', usage: budget.spent(), error: undefined });
    return { ...result, status: 'completed', stepsDone: steps, prompts };
  }
}

export function readPromptFiles(system: SystemConfig): Record<string, string> {
  const prompts: Record<string, string> = {};
  for (const agent of system.agents) {
    try {
      prompts[agent.name] = readFileSync(agent.promptFile, 'utf8');
    } catch (err) {
      throw new Error(`${agent.promptFile}: cannot read the prompt of agent "${agent.name}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  return prompts;
}

/** `count` samples from `start`, wrapping around: steps cycle through the dataset. */
function pick<T>(items: T[], start: number, count: number): T[] {
  return Array.from({ length: Math.min(count, items.length) }, (_, i) => items[(start + i) % items.length]);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function memoize<T>(make: (name: string) => T): (name: string) => T {
  const made = new Map<string, T>();
  return (name) => {
    if (!made.has(name)) made.set(name, make(name));
    return made.get(name)!;
  };
}

function definedOnly(limits: BudgetLimits): BudgetLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as BudgetLimits;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs `write`; the error's message if it failed (for writes whose failure must not hide another error). */
function attempt(write: () => void): string | undefined {
  try {
    write();
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

/**
 * Writes the run's final status. If even that fails (updateManifest already falls back to an in-place write), the
 * error says so along with what ended the run.
 */
function finish(folder: RunFolder, patch: Partial<RunManifest>, ended?: unknown): void {
  try {
    folder.updateManifest(patch);
  } catch (err) {
    const why = ended === undefined ? '' : `${messageOf(ended)}; and `;
    throw new Error(`${why}${folder.dir}: status '${patch.status}' could not be written to run.json (${messageOf(err)})`, { cause: ended ?? err });
  }
}

/**
 * A cost budget counts only what has a price: every endpoint model the run pays for (the agents', the optimizer's,
 * the judge's) needs `price:` in the file or an entry in the built-in list, or the run does not start.
 */
function refuseUnpricedModels(system: SystemConfig, o: Pick<OptimizeOptions, 'loss' | 'optimizer'>): void {
  const used = new Set(system.agents.map((a) => a.model));
  if (!o.optimizer && system.optimizer.kind === 'llm' && system.optimizer.model) used.add(system.optimizer.model);
  const judge = system.loss?.kind === 'builtin' && system.loss.name === 'llm_judge' ? system.loss.options.model : undefined;
  if (!o.loss && typeof judge === 'string') used.add(judge);
  const unpriced = [...used].filter((name) => {
    const m = system.models[name];
    return m?.kind === 'endpoint' && !m.price && !priceFor(m.model, DEFAULT_PRICES);
  });
  if (unpriced.length === 0) return;
  const list = unpriced.map((n) => `models.${n} (endpoint model "${(system.models[n] as EndpointModel).model}")`).join(', ');
  throw new Error(
    `${system.file}: a cost budget (--max-cost or optimizer.budget.maxCostUsd) needs a price for every model it pays for; ` +
      `none is known for ${list}: add price: { inputPerMTok, outputPerMTok } (USD per million tokens) there, or drop the cost limit`,
  );
}

function findCause(err: unknown): unknown {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof BudgetExhaustedError) return e;
  return err;
}

/** Drops proposed changes to agents marked `optimize: false` (their prompt stays as written, whatever is blamed). */
function keepOptimizable(result: OptimizerResult, system: SystemConfig): OptimizerResult {
  if (!result.ok) return result;
  const fixed = new Set(system.agents.filter((a) => !a.optimize).map((a) => a.name));
  const changes = result.changes.filter((c) => !fixed.has(c.agent));
  if (changes.length === result.changes.length) return result;
  if (changes.length === 0) return { ok: false, message: `only agents with optimize: false (${[...fixed].join(', ')}) would have changed` };
  return { ...result, changes };
}
