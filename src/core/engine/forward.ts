/**
 * The forward run of a multi-agent system: for each task sample, the agents run in topological order; each one gets
 * its prompt file (placeholders filled from the task) as the system message and its input blocks (task fields,
 * predecessor outputs, tool results; see ./blocks.ts) as the user message. Every call is attributed (connection
 * weights, ./attribution.ts) and appended to the run folder as soon as it is done, with its weights.
 *
 * Samples run concurrently up to a limit; agents within a sample run one after another. Retries are the providers'
 * business; cancellation goes through the AbortSignal to every model call, tool and attribution. A cancelled run
 * marks the manifest 'cancelled', a failed one 'failed' (with the error); in both cases every line already written is
 * complete. Token use and cost go to the UsageLedger and into the manifest (whole run, and per agent).
 *
 * Multi-turn tasks (system.environment): the environment gives each turn's input; the whole DAG runs once per turn
 * with that input as the task fields, until the environment says done or maxTurns is reached (./environment.ts).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { ChatMessage, ChatResponse } from '../llm/types';
import { UsageLedger, type PriceTable, type UsageTotals } from '../llm/usage';
import { renderPrompt } from '../prompt';
import type { AgentConfig, ReplayModel, SystemConfig } from '../system/types';
import { loadToolsModule } from '../tools/loadTools';
import { FINAL_ANSWER_PROMPT, runToolLoop, type ToolLoopStep } from '../tools/toolLoop';
import type { LoadedTools } from '../tools/types';
import { withTimeout } from '../util/timeout';
import { singleBlockAttribution, unavailableAttribution, type Attributor } from './attribution';
import { isBudgetStop } from './budget';
import { agentBlock, appendBlocks, fieldText, renderBlocks, renderLines, shiftBlocks, taskBlock, toolBlock, type BlockSpec, type RenderedBlocks } from './blocks';
import type { TaskSample } from './dataset';
import { loadEnvironmentModule, type EnvironmentEvaluation, type EnvironmentFactory } from './environment';
import type { ModelResolver } from './models';
import type { RunFolder } from './runFolder';
import type { AgentCall, CallAttribution, RunManifest, ToolCallRecord } from './types';


export interface ProgressEvent {
  /** 'call': an agent call (and its attribution) was recorded; 'sample': a sample finished. */
  type: 'call' | 'sample';
  sampleId: string;
  agent?: string;
  step?: number;
  cached?: boolean;
  callsDone: number;
  samplesDone: number;
  samplesTotal: number;
}

export interface ForwardOptions {
  system: SystemConfig;
  samples: TaskSample[];
  runFolder: RunFolder;
  /** Agent -> prompt text override (candidate prompts, raw file text); default: read the prompt files. */
  prompts?: Record<string, string>;
  models: ModelResolver;
  /** Absent: multi-block calls get weights 'unavailable' with a reason (single-block calls still get weight 1). */
  attributor?: Attributor;
  /** Why there is no attributor (recorded as the reason). Default: names attribution.model in the system file. */
  noAttributionReason?: string;
  /** Samples in flight at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Pass the optimizer's ledger to accumulate across runs; the manifest's usage is this ledger's total. */
  usage?: UsageLedger;
  /** Step label of this run's usage records (e.g. the optimization step). Default 'forward'. */
  usageStep?: number | string;
  /** Already loaded modules (the optimizer loads them once for many forward runs). */
  tools?: LoadedTools;
  environment?: EnvironmentFactory;
}

export interface SampleRun {
  sample: TaskSample;
  /** The output agent's answer (of the last turn for multi-turn tasks). */
  output: string;
  calls: AgentCall[];
  attributions: CallAttribution[];
  environment?: EnvironmentEvaluation;
}

/** An error of one sample, naming the sample (and agent) at fault. */
export class ForwardError extends Error {
  constructor(
    readonly sampleId: string,
    readonly agent: string | undefined,
    cause: unknown,
  ) {
    const where = agent ? `sample "${sampleId}", agent "${agent}"` : `sample "${sampleId}"`;
    super(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ForwardError';
  }
}

export async function runForward(o: ForwardOptions): Promise<SampleRun[]> {
  const { system, runFolder } = o;
  const ledger = o.usage ?? new UsageLedger(localModelPrices(system));
  // Our own controller: the caller's signal, or the first failing sample, stops every sample.
  const controller = new AbortController();
  const stopOnCaller = () => controller.abort(o.signal?.reason);
  if (o.signal?.aborted) stopOnCaller();
  o.signal?.addEventListener('abort', stopOnCaller, { once: true });
  const context: RunContext = {
    o,
    ledger,
    signal: controller.signal,
    prompts: {},
    tools: o.tools,
    environment: o.environment,
    callsDone: 0,
    samplesDone: 0,
  };
  const results: SampleRun[] = new Array(o.samples.length);
  // Where this run's records start: they are put in sample order at the end (RunFolder.orderRecordsSince).
  const sizesAtStart = runFolder.recordSizes();
  let failure: unknown;
  try {
    context.prompts = readPrompts(system, o.prompts);
    if (!context.tools && system.agents.some((a) => a.tools.length)) context.tools = await loadTools(system);
    if (!context.environment && system.environment) context.environment = await loadEnvironmentModule(system.environment.module);
    let next = 0;
    let stopping = false;
    const worker = async () => {
      while (next < o.samples.length && !stopping && !controller.signal.aborted) {
        const index = next++;
        try {
          results[index] = await runSample(context, o.samples[index]);
        } catch (err) {
          failure ??= err;
          // A budget stop lets the calls in flight finish (they are paid for, and get recorded): their samples stop
          // at their next request. Any other failure stops every sample at once.
          if (isBudgetStop(err)) stopping = true;
          else controller.abort(err);
        }
      }
    };
    const workers = Math.max(1, Math.min(o.concurrency ?? 4, o.samples.length));
    await Promise.all(Array.from({ length: workers }, worker));
  } catch (err) {
    failure ??= err;
  } finally {
    o.signal?.removeEventListener('abort', stopOnCaller);
  }
  const usage = usageFields(ledger);
  if (o.signal?.aborted) {
    runFolder.updateManifest({ ...usage, status: 'cancelled' });
    throw o.signal.reason instanceof Error ? o.signal.reason : new DOMException('the run was cancelled', 'AbortError');
  }
  if (failure !== undefined) {
    runFolder.updateManifest({ ...usage, status: 'failed', error: failure instanceof Error ? failure.message : String(failure) });
    throw failure;
  }
  // Calls finish in whatever order the models answer (concurrent samples, several backends): the files must not
  // depend on it. Within a sample, calls are already in order (its agents run one after another).
  const sampleRank = new Map<string, number>();
  const callRank = new Map<string, number>();
  results.forEach((run, index) => {
    if (!run) return;
    if (!sampleRank.has(run.sample.id)) sampleRank.set(run.sample.id, index);
    for (const call of run.calls) callRank.set(call.id, index);
  });
  runFolder.orderRecordsSince(sizesAtStart, (file, record) =>
    file === 'calls' ? sampleRank.get(String(record.sampleId)) : callRank.get(String(record.callId)),
  );
  runFolder.updateManifest(usage);
  return results;
}

/**
 * The prices of the system's models, for a UsageLedger: local (and replay) models cost nothing per token (priced at 0
 * so they are not reported as unpriced); an endpoint with `price:` in the file costs that. Others keep the built-in
 * list prices, looked up by endpoint model name (see priceNameOf).
 */
export function localModelPrices(system: SystemConfig): PriceTable {
  const prices: PriceTable = {};
  for (const m of Object.values(system.models)) {
    if (m.kind !== 'endpoint') prices[m.name] = { inputPerMillion: 0, outputPerMillion: 0 };
    else if (m.price) prices[m.model] = { inputPerMillion: m.price.inputPerMTok, outputPerMillion: m.price.outputPerMTok };
  }
  return prices;
}

/** The name a model (a key of `models:`) is priced by: the endpoint's model name (gpt-4o-mini), else the key. */
export function priceNameOf(system: SystemConfig, modelKey: string): string {
  const config = system.models[modelKey];
  return config?.kind === 'endpoint' ? config.model : modelKey;
}

/** Manifest fields from the ledger: the whole run and per agent. */
function usageFields(ledger: UsageLedger): Pick<RunManifest, 'usage' | 'usageByAgent' | 'usageByStep' | 'unpricedModels'> {
  const total = ledger.total();
  const byKey = (groups: Map<string | number, UsageTotals>) =>
    Object.fromEntries(
      [...groups].map(([key, t]) => [String(key), { calls: t.calls, cachedCalls: t.cachedCalls, promptTokens: t.promptTokens, completionTokens: t.completionTokens, costUsd: t.costUsd }]),
    );
  return {
    usage: { calls: total.calls, promptTokens: total.promptTokens, completionTokens: total.completionTokens, costUsd: total.costUsd },
    usageByAgent: byKey(ledger.byAgent()),
    usageByStep: byKey(ledger.byStep()),
    unpricedModels: total.unpricedModels,
  };
}

interface RunContext {
  o: ForwardOptions;
  ledger: UsageLedger;
  signal: AbortSignal;
  /** Agent -> raw prompt file text. */
  prompts: Record<string, string>;
  tools?: LoadedTools;
  environment?: EnvironmentFactory;
  callsDone: number;
  samplesDone: number;
}

function readPrompts(system: SystemConfig, overrides: Record<string, string> = {}): Record<string, string> {
  const prompts: Record<string, string> = {};
  for (const agent of system.agents) {
    if (Object.hasOwn(overrides, agent.name)) {
      prompts[agent.name] = overrides[agent.name];
      continue;
    }
    try {
      prompts[agent.name] = readFileSync(agent.promptFile, 'utf8');
    } catch (err) {
      throw new Error(`${agent.promptFile}: cannot read the prompt of agent "${agent.name}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  return prompts;
}

async function loadTools(system: SystemConfig): Promise<LoadedTools> {
  const user = system.agents.find((a) => a.tools.length)!;
  if (!system.toolsModule) throw new Error(`${system.file}: agent "${user.name}" uses tools, but no tools module is set (tools: { module })`);
  return loadToolsModule(system.toolsModule);
}

async function runSample(ctx: RunContext, sample: TaskSample): Promise<SampleRun> {
  const { system } = ctx.o;
  const run: SampleRun = { sample, output: '', calls: [], attributions: [] };
  if (!ctx.environment) {
    run.output = await runTurn(ctx, run, sample.fields, 0);
  } else {
    const config = system.environment!;
    const env = ctx.environment(config.options);
    // Every method is awaited under environment.timeoutSeconds: one that never settles fails the sample, naming it.
    const timed = <T>(method: string, call: () => Promise<T>): Promise<T> =>
      withTimeout(call, {
        seconds: system.timeouts.environmentSeconds,
        what: `environment ${relative(system.dir, config.module) || config.module}: ${method}()`,
        setting: 'environment.timeoutSeconds',
        signal: ctx.signal,
      }).catch((err: unknown) => {
        if (ctx.signal.aborted) throw err;
        throw new ForwardError(sample.id, undefined, err);
      });
    let input = (await timed('reset', () => env.reset(sample))).input;
    for (let turn = 0; turn < config.maxTurns; turn++) {
      ctx.signal.throwIfAborted();
      run.output = await runTurn(ctx, run, input, turn);
      const next = await timed('step', () => env.step(run.output, { turn, calls: run.calls.filter((c) => c.turn === turn) }));
      if (next.done) break;
      input = next.input!;
    }
    run.environment = await timed('evaluate', () => env.evaluate());
  }
  ctx.samplesDone++;
  ctx.o.onProgress?.({ type: 'sample', sampleId: sample.id, callsDone: ctx.callsDone, samplesDone: ctx.samplesDone, samplesTotal: ctx.o.samples.length });
  return run;
}

/** Runs every agent once, in topological order, on `fields`; returns the output agent's answer. */
async function runTurn(ctx: RunContext, run: SampleRun, fields: Record<string, unknown>, turn: number): Promise<string> {
  const { system } = ctx.o;
  const outputs = new Map<string, { output: string; callId: string }>();
  for (const name of system.order) {
    const agent = system.agents.find((a) => a.name === name)!;
    ctx.signal.throwIfAborted();
    try {
      outputs.set(name, await runAgent(ctx, run, agent, fields, turn, outputs));
    } catch (err) {
      if (ctx.signal.aborted || err instanceof ForwardError) throw err;
      throw new ForwardError(run.sample.id, name, err);
    }
  }
  const answer = outputs.get(system.output);
  if (!answer) throw new ForwardError(run.sample.id, undefined, `${system.file}: output agent "${system.output}" did not run`);
  return answer.output;
}

function inputBlocks(
  system: SystemConfig,
  agent: AgentConfig,
  fields: Record<string, unknown>,
  outputs: Map<string, { output: string; callId: string }>,
): BlockSpec[] {
  return agent.inputs.map((input) => {
    if (input.kind === 'task') {
      if (!Object.hasOwn(fields, input.field)) throw new Error(`input task.${input.field}: the task has no field "${input.field}"`);
      return taskBlock(input.field, fields[input.field]);
    }
    const from = outputs.get(input.agent);
    if (!from) throw new Error(`input ${input.agent}: that agent has not run yet (is it after this one in the order?)`);
    const label = system.agents.find((a) => a.name === input.agent)?.label ?? input.agent;
    return agentBlock(input.agent, from.callId, from.output, label);
  });
}

/** The system message: the prompt file rendered with `{{task.<field>}}` filled in. */
function systemPrompt(ctx: RunContext, agent: AgentConfig, fields: Record<string, unknown>, extra: Record<string, string> = {}): string {
  const variables: Record<string, string> = { ...extra };
  for (const [key, value] of Object.entries(fields)) variables[`task.${key}`] = fieldText(value);
  const { text, missing } = renderPrompt(ctx.prompts[agent.name], variables);
  if (missing.length) throw new Error(`${agent.promptFile}: ${missing.map((m) => `{{${m}}}`).join(', ')} has no value in this task`);
  return text;
}

/** Where `{{input}}` is while the prompt of a `lines` agent is rendered (a text no prompt or task contains). */
const INPUT_MARKER = '\u0000AGENTCHORD_INPUT\u0000';

/**
 * The messages an agent is sent, and its input with the blocks located (renderedInput). `blocks` format: the prompt
 * as system message, the <block> elements as user message. `lines` format: one user message, the prompt with the
 * block lines where it says `{{input}}` (the file's final newline dropped: the model continues right after the
 * prompt's last character, e.g. after `Answer:`); its renderedInput is that whole text.
 */
function agentMessages(ctx: RunContext, agent: AgentConfig, fields: Record<string, unknown>, specs: BlockSpec[]): { messages: ChatMessage[]; input: RenderedBlocks } {
  if (agent.input.format === 'blocks') {
    const input = renderBlocks(specs);
    return { messages: [{ role: 'system', content: systemPrompt(ctx, agent, fields) }, { role: 'user', content: input.text }], input };
  }
  const prompt = systemPrompt(ctx, agent, fields, { input: INPUT_MARKER }).replace(/\r?\n$/, '');
  const at = prompt.indexOf(INPUT_MARKER);
  if (at < 0 || prompt.indexOf(INPUT_MARKER, at + 1) >= 0) {
    throw new Error(`${agent.promptFile}: agent "${agent.name}" has input format 'lines', so its prompt must say {{input}} exactly once (where the input lines go)`);
  }
  const lines = renderLines(specs, agent.input.template, agent.input.separator);
  const text = prompt.slice(0, at) + lines.text + prompt.slice(at + INPUT_MARKER.length);
  return { messages: [{ role: 'user', content: text }], input: shiftBlocks(lines, text, at) };
}

/** The reply of an agent on a replay model: the task field `<field>.<agent name>` (no model runs, nothing is cached). */
function replayResponse(model: ReplayModel, agent: AgentConfig, fields: Record<string, unknown>): ChatResponse {
  const replies = fields[model.field];
  if (typeof replies !== 'object' || replies === null || !Object.hasOwn(replies, agent.name)) {
    throw new Error(`replay model "${model.name}": the task has no reply for this agent (field ${model.field}.${agent.name})`);
  }
  const content = fieldText((replies as Record<string, unknown>)[agent.name]);
  return { message: { content, toolCalls: [] }, usage: { promptTokens: 0, completionTokens: 0 }, finishReason: 'stop', model: model.name, cached: false, latencyMs: 0 };
}

const callIdOf = (sampleId: string, turn: number, agent: string, step: number) => `${sampleId}/t${turn}/${agent}/s${step}`;

function traceMessages(messages: ChatMessage[]): AgentCall['messages'] {
  return messages.map((m) => ({
    role: m.role,
    content: m.content ?? '',
    ...(m.role === 'assistant' && m.toolCalls?.length ? { toolCalls: m.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) } : {}),
    ...(m.role === 'tool' ? { toolCallId: m.toolCallId } : {}),
  }));
}

async function runAgent(
  ctx: RunContext,
  run: SampleRun,
  agent: AgentConfig,
  fields: Record<string, unknown>,
  turn: number,
  outputs: Map<string, { output: string; callId: string }>,
): Promise<{ output: string; callId: string }> {
  const { messages, input: base } = agentMessages(ctx, agent, fields, inputBlocks(ctx.o.system, agent, fields, outputs));
  const modelConfig = ctx.o.system.models[agent.model];
  const sampleId = run.sample.id;

  if (modelConfig?.kind === 'replay') {
    if (agent.tools.length) throw new Error(`replay model "${modelConfig.name}" cannot call tools`);
    const call = makeCall(ctx, run, agent, turn, 0, {
      messages,
      input: base,
      response: replayResponse(modelConfig, agent, fields),
      toolCalls: [],
      startedAt: new Date().toISOString(),
      durationMs: 0,
    });
    await record(ctx, run, call);
    return { output: call.output, callId: call.id };
  }
  const provider = ctx.o.models(agent.model);

  if (!agent.tools.length) {
    const startedAt = new Date().toISOString();
    const started = performance.now();
    const response = await provider.complete({ messages }, ctx.signal);
    const call = makeCall(ctx, run, agent, turn, 0, {
      messages,
      input: base,
      response,
      toolCalls: [],
      startedAt,
      durationMs: Math.round(performance.now() - started),
    });
    await record(ctx, run, call);
    return { output: call.output, callId: call.id };
  }

  // Tool-calling agent: each model call of the loop is one AgentCall; the tool results so far are blocks of the next.
  const tools = ctx.tools!;
  const missing = agent.tools.filter((t) => !tools.handlers[t]);
  if (missing.length) throw new Error(`tools ${missing.join(', ')} are not exported by ${tools.file}`);
  const schemas = tools.schemas.filter((s) => agent.tools.includes(s.function.name));
  const handlers = Object.fromEntries(agent.tools.map((t) => [t, tools.handlers[t]]));
  let input: RenderedBlocks = base;
  let recording = Promise.resolve();
  let lastCall: AgentCall | undefined;
  const onStep = (step: ToolLoopStep) => {
    const stepInput: RenderedBlocks = step.forcedFinal ? { text: `${input.text}\n\n${FINAL_ANSWER_PROMPT}`, blocks: input.blocks } : input;
    const toolCalls: ToolCallRecord[] = step.toolResults.map((r) => ({
      id: r.toolCallId,
      name: r.name,
      arguments: r.arguments,
      result: r.content,
      ...(r.error === undefined ? {} : { error: r.error }),
    }));
    const call = makeCall(ctx, run, agent, turn, step.index, {
      messages: step.request.messages,
      input: stepInput,
      response: step.response,
      toolCalls,
      startedAt: step.startedAt,
      durationMs: step.durationMs,
    });
    lastCall = call;
    input = appendBlocks(input, toolCalls.map((c) => toolBlock(c, call.id)));
    // Steps are recorded in order while the loop goes on; a failure surfaces when the loop is over.
    recording = recording.then(() => record(ctx, run, call));
    recording.catch(() => {}); // awaited after the loop; this only keeps Node from calling it unhandled meanwhile
  };
  let loopError: unknown;
  let content = '';
  try {
    content = (
      await runToolLoop({
        provider,
        messages,
        tools: schemas,
        handlers,
        maxSteps: agent.maxToolSteps,
        signal: ctx.signal,
        onStep,
        context: { agent: agent.name, state: { sampleId, turn, task: fields } },
        handlerTimeout: { seconds: ctx.o.system.timeouts.toolSeconds, setting: 'tools.timeoutSeconds' },
      })
    ).content;
  } catch (err) {
    loopError = err;
  }
  await recording;
  if (loopError !== undefined) throw loopError;
  return { output: content, callId: lastCall!.id };
}

function makeCall(
  ctx: RunContext,
  run: SampleRun,
  agent: AgentConfig,
  turn: number,
  step: number,
  c: { messages: ChatMessage[]; input: RenderedBlocks; response: ChatResponse; toolCalls: ToolCallRecord[]; startedAt: string; durationMs: number },
): AgentCall {
  const usage = ctx.ledger.record({ agent: agent.name, step: ctx.o.usageStep ?? 'forward', model: modelNameForPrice(ctx, agent), response: c.response });
  return {
    id: callIdOf(run.sample.id, turn, agent.name, step),
    runId: ctx.o.runFolder.id,
    sampleId: run.sample.id,
    turn,
    agent: agent.name,
    step,
    model: agent.model,
    promptFile: agent.promptFile,
    messages: traceMessages(c.messages),
    renderedInput: c.input.text,
    blocks: c.input.blocks.map((b) => ({ ...b })),
    output: c.response.message.content,
    toolCalls: c.toolCalls,
    usage: { promptTokens: c.response.usage.promptTokens, completionTokens: c.response.usage.completionTokens, costUsd: usage.costUsd },
    cached: c.response.cached,
    startedAt: c.startedAt,
    durationMs: c.durationMs,
  };
}

/** Prices are per endpoint model name (gpt-4o-mini), not per key of `models:`. */
function modelNameForPrice(ctx: RunContext, agent: AgentConfig): string {
  return priceNameOf(ctx.o.system, agent.model);
}

/** Attributes the call, then appends the call and its weights to the run folder. */
async function record(ctx: RunContext, run: SampleRun, call: AgentCall): Promise<void> {
  const attribution = await attributeCall(ctx, call);
  ctx.o.runFolder.appendCall(call);
  ctx.o.runFolder.appendAttribution(attribution);
  run.calls.push(call);
  run.attributions.push(attribution);
  ctx.callsDone++;
  ctx.o.onProgress?.({
    type: 'call',
    sampleId: call.sampleId,
    agent: call.agent,
    step: call.step,
    cached: call.cached,
    callsDone: ctx.callsDone,
    samplesDone: ctx.samplesDone,
    samplesTotal: ctx.o.samples.length,
  });
}

async function attributeCall(ctx: RunContext, call: AgentCall): Promise<CallAttribution> {
  const { system, attributor } = ctx.o;
  if (attributor) return attributor.attributeCall(call, ctx.signal);
  const single = singleBlockAttribution(call, system);
  if (single) return single;
  const reason =
    ctx.o.noAttributionReason ??
    (system.attribution.model
      ? `no local backend to run the attribution model "${system.attribution.model}"`
      : `no attribution model: set attribution.model in ${system.file} to a provider: local model`);
  return unavailableAttribution(call, system, reason);
}

export { callIdOf };
