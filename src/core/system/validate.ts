/**
 * Checks the schema cannot express: references between fields (agents, models, output), the shape of the agent
 * graph (cycles, agents that never reach the output) and files that must exist. Then, for a file without errors,
 * builds the resolved SystemConfig (absolute paths, defaults applied, topological order).
 *
 * The checks run even when the schema found problems (so a user sees all of them at once), so they read the data
 * defensively: anything of an unexpected type was already reported by the schema and is skipped here.
 */
import { basename, dirname, resolve } from 'node:path';
import { BUILTIN_METRICS, readBuiltinOptions } from '../loss/builtins';
import { parseLossTemplate } from '../loss/template';
import { parsePromptFile } from '../prompt/parse';
import type { PromptFile } from '../prompt/types';
import { promptProblemsForFile } from '../prompt/problems';
import { DEFAULTS } from './defaults';
import { isInside } from './files';
import { pullCommand, resolveModelPath } from './modelPath';
import { findClosingEdges, nodesReaching, topologicalOrder } from './graph';
import type { Edge } from './graph';
import { displayPath, looksLikeApiKey } from './schema';
import type {
  AgentConfig,
  AgentInput,
  AttributionStrategy,
  FileHost,
  FileKind,
  InputFormat,
  LossConfig,
  ModelConfig,
  Problem,
  SystemConfig,
} from './types';
import type { PathSegment, YamlSource } from './yamlSource';

type Fields = Record<string, unknown>;

const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const fields = (v: unknown): Fields => (isFields(v) ? v : {});

/** Input entries of the form `task.<field>` read a field of the task sample; anything else names an agent. */
const TASK_PREFIX = 'task.';
/** What an agent name looks like (the schema's propertyNames pattern); other input entries were reported there. */
const AGENT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Options of each builtin loss (src/core/loss): anything else in `loss.options` is a typo or a misunderstanding. */
const METRIC_OPTIONS = ['reference', 'normalize', 'fields', 'template', 'passScore'];
const LOSS_OPTIONS: Record<string, readonly string[]> = {
  ...Object.fromEntries(BUILTIN_METRICS.map((m) => [m, METRIC_OPTIONS])),
  llm_judge: ['model', 'reference', 'criteria'],
};

/** Messages list at most this many agent names (a file with thousands of agents must not give quadratic output). */
const MAX_LISTED_AGENTS = 20;

/** A path the system file names, as resolved once per check (several agents may share a prompt file). */
interface ResolvedPath {
  kind: FileKind;
  /** With symbolic links resolved, when the host can tell. */
  real: string;
}

/** An `inputs` entry naming another agent, remembered with where it is written. */
interface InputEdge extends Edge {
  /** Index of the entry in `agents.<to>.inputs`. */
  index: number;
}

class SemanticCheck {
  readonly problems: Problem[] = [];
  private readonly dir: string;
  private readonly agents: Fields;
  private readonly models: Fields;
  private readonly allowOutside: boolean;
  /** The system's folder with its links resolved: paths must stay below it (or below `dir`, as written). */
  private readonly realDir: string;
  private readonly resolved = new Map<string, ResolvedPath>();
  private readonly prompts = new Map<string, PromptFile | undefined>();
  readonly edges: InputEdge[] = [];

  constructor(
    private readonly source: YamlSource,
    private readonly data: Fields,
    private readonly host: FileHost,
  ) {
    this.dir = dirname(source.file);
    this.agents = fields(data.agents);
    this.models = fields(data.models);
    this.allowOutside = data.allowPathsOutside === true;
    this.realDir = host.realPath ? host.realPath(this.dir) : this.dir;
  }

  run(): Problem[] {
    for (const [name, spec] of Object.entries(this.agents)) this.checkAgent(name, fields(spec));
    this.checkGraph();
    this.checkModels();
    this.checkSettings();
    this.checkLoss();
    return this.problems;
  }

  private report(path: readonly PathSegment[], message: string, severity: Problem['severity'] = 'error', onKey = false) {
    const node = onKey ? this.source.keyOrValue(path) : this.source.locate(path).value;
    this.problems.push(this.source.problem(node, message, severity));
  }

  private checkAgent(name: string, spec: Fields) {
    const at = ['agents', name];
    if (name === 'task') {
      this.report(at, `agent name 'task' is reserved: inputs write task fields as 'task.<field>'; rename the agent`, 'error', true);
    }
    const prompt = this.checkFile([...at, 'prompt'], `agent '${name}': prompt file`);
    if (prompt) this.checkPrompt(name, spec, prompt);
    if (fields(spec.input).format === 'lines' && Array.isArray(spec.tools) && spec.tools.length) {
      this.report([...at, 'tools'], `agent '${name}' has input format 'lines' (one completion prompt), which cannot hold a tool loop; use format 'blocks'`);
    }
    const model = text(spec.model);
    if (model !== undefined && fields(this.models[model]).provider === 'replay' && Array.isArray(spec.tools) && spec.tools.length) {
      this.report([...at, 'tools'], `agent '${name}' runs on replay model '${model}', which replies from the task and cannot call tools`);
    }
    this.checkModelReference([...at, 'model'], `agent '${name}'`);

    const inputs = Array.isArray(spec.inputs) ? spec.inputs : [];
    inputs.forEach((input, index) => {
      const ref = text(input);
      if (ref === undefined || ref.startsWith(TASK_PREFIX) || !AGENT_NAME.test(ref)) return;
      if (Object.hasOwn(this.agents, ref)) {
        this.edges.push({ from: ref, to: name, index });
      } else {
        this.report(
          [...at, 'inputs', index],
          `agent '${name}': input '${ref}' is not an agent of this system (agents: ${this.agentList()}); ` +
            `to read a task field, write 'task.${ref}'`,
        );
      }
    });

    const tools = Array.isArray(spec.tools) ? spec.tools : [];
    if (tools.length > 0 && text(fields(this.data.tools).module) === undefined) {
      this.report([...at, 'tools'], `agent '${name}' uses tools, but no tools module is set (add 'tools: { module: ... }')`);
    }
  }

  private checkGraph() {
    for (const { edge, cycle } of findClosingEdges(this.edges)) {
      this.report(
        ['agents', edge.to, 'inputs', edge.index],
        `cycle: ${cycle.join(' -> ')} (agent '${edge.to}' takes input from '${edge.from}', which closes the loop)`,
      );
    }

    const output = text(this.data.output);
    if (output === undefined) return;
    if (!Object.hasOwn(this.agents, output)) {
      this.report(['output'], `output '${output}' is not an agent of this system (agents: ${this.agentList()})`);
      return;
    }
    const useful = nodesReaching(output, this.edges);
    for (const name of Object.keys(this.agents)) {
      if (!useful.has(name)) {
        this.report(
          ['agents', name],
          `agent '${name}' does not lead to the output agent '${output}': no agent on the way to the output reads its ` +
            `output (add '${name}' to some agent's inputs, or remove it)`,
          'error',
          true,
        );
      }
    }
  }

  private checkModels() {
    for (const [name, spec] of Object.entries(this.models)) {
      const model = fields(spec);
      const written = model.provider === 'local' ? text(model.path) : undefined;
      if (written !== undefined) {
        const resolved = written === '' ? undefined : resolveModelPath(this.dir, written, (p) => this.host.exists(p));
        if (resolved?.ref) {
          // A repository id: the model cache's folder. A warning, as for a missing folder: only local runs need it.
          if (!resolved.pulled) {
            this.report(
              ['models', name, 'path'],
              `model '${name}': model folder '${written}' not found, nor pulled into the model cache as a repository (${resolved.path}); run: ${pullCommand(resolved.ref)}`,
              'warning',
            );
          }
        } else {
          // A warning: the folder may be downloaded later; only attribution and local runs need it.
          this.checkFile(['models', name, 'path'], `model '${name}': model folder`, 'warning', 'directory');
        }
      }
      if (model.provider === 'openai') {
        const baseUrl = text(model.baseUrl);
        const why = baseUrl === undefined ? undefined : baseUrlProblem(baseUrl);
        if (why) this.report(['models', name, 'baseUrl'], `model '${name}': baseUrl ${why} (e.g. http://localhost:8000/v1)`);
        const keyEnv = text(model.apiKeyEnv);
        // A value the schema's pattern lets through (e.g. hf_...) can still be a pasted key: say so, never echo it.
        if (keyEnv !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(keyEnv) && looksLikeApiKey(keyEnv)) {
          this.report(
            ['models', name, 'apiKeyEnv'],
            `model '${name}': apiKeyEnv: this looks like a key, not a variable name; put the key in an environment variable (e.g. OPENAI_API_KEY) and write that variable's name here`,
          );
        }
      }
    }
  }

  private checkSettings() {
    const attribution = fields(this.data.attribution);
    const attributionModel = text(attribution.model);
    if (this.checkModelReference(['attribution', 'model'], 'attribution') && attributionModel !== undefined) {
      const provider = fields(this.models[attributionModel]).provider;
      if (provider !== 'local') {
        this.report(
          ['attribution', 'model'],
          `attribution.model '${attributionModel}' must be a 'provider: local' model (attribution needs the ` +
            `gradients of a white-box model), but it is 'provider: ${String(provider)}'`,
        );
      }
    }

    this.checkBackends(attribution.backends);

    const optimizer = fields(this.data.optimizer);
    if (this.checkModelReference(['optimizer', 'model'], 'optimizer')) {
      const model = text(optimizer.model)!;
      if (fields(this.models[model]).provider === 'replay') {
        this.report(['optimizer', 'model'], `optimizer.model '${model}' is a replay model, which cannot write prompts; name an endpoint or local model`);
      }
    }
    if (optimizer.kind === 'llm' && optimizer.model === undefined) {
      this.report(['optimizer', 'kind'], `optimizer kind 'llm' needs 'optimizer.model': the model that rewrites prompts`);
    }

    for (const split of ['train', 'validation', 'test']) this.checkFile(['datasets', split], `datasets.${split}: file`);
    this.checkFile(['tools', 'module'], 'tools.module: file');
    this.checkFile(['environment', 'module'], 'environment.module: file');
  }

  /** attribution.backends: what the schema cannot say (port range, duplicates, ca only for tls://, ca file exists). */
  private checkBackends(backends: unknown) {
    if (!Array.isArray(backends)) return;
    const seen = new Set<string>();
    backends.forEach((entry, i) => {
      const b = fields(entry);
      const url = text(b.url);
      if (url === undefined) return;
      const port = Number(/:(\d+)$/.exec(url)?.[1]);
      if (!(port >= 1 && port <= 65535)) this.report(['attribution', 'backends', i, 'url'], `backend ${url}: port must be 1-65535`);
      if (seen.has(url)) this.report(['attribution', 'backends', i, 'url'], `backend ${url} is listed twice`);
      seen.add(url);
      if (b.ca !== undefined) {
        if (!url.startsWith('tls://')) this.report(['attribution', 'backends', i, 'ca'], `backend ${url}: ca is only for tls:// backends`);
        // Not checkFile: it reads its value by object path, and this one is inside an array. A CA may live anywhere.
        else if (typeof b.ca === 'string' && !this.host.exists(resolve(this.dir, b.ca))) this.report(['attribution', 'backends', i, 'ca'], `CA file of backend ${url} '${b.ca}' not found`);
      }
    });
  }

  /** What the loss builder (src/core/loss) would refuse at run time, reported now. */
  private checkLoss() {
    const loss = fields(this.data.loss);
    const template = this.checkFile(['loss', 'template'], 'loss.template: file');
    if (template) this.checkLossTemplate(['loss', 'template'], template);

    const builtin = text(loss.builtin);
    if (builtin === undefined) return;
    const allowed = Object.hasOwn(LOSS_OPTIONS, builtin) ? LOSS_OPTIONS[builtin] : undefined;
    if (!allowed) {
      this.report(['loss', 'builtin'], `loss.builtin: unknown loss '${builtin}'; use one of ${Object.keys(LOSS_OPTIONS).join(', ')}`);
      return;
    }
    const options = fields(loss.options);
    for (const key of Object.keys(options)) {
      if (!allowed.includes(key)) {
        this.report(['loss', 'options', key], `loss.options: unknown option '${key}' for builtin '${builtin}'; allowed: ${allowed.join(', ')}`, 'error', true);
      }
    }
    if (builtin === 'llm_judge') {
      if (options.model === undefined) {
        this.report(loss.options === undefined ? ['loss', 'builtin'] : ['loss', 'options'], `loss: builtin 'llm_judge' needs 'options.model': the model (under 'models') that judges the output`);
      } else if (this.checkModelReference(['loss', 'options', 'model'], 'loss.options.model (llm_judge)')) {
        const model = text(options.model)!;
        if (fields(this.models[model]).provider === 'replay') {
          this.report(['loss', 'options', 'model'], `loss.options.model '${model}' is a replay model, which cannot judge; name an endpoint or local model`);
        }
      } else if (text(options.model) === undefined) {
        this.report(['loss', 'options', 'model'], `loss.options.model must be a model name (a string)`);
      }
      for (const key of ['reference', 'criteria']) {
        if (options[key] !== undefined && typeof options[key] !== 'string') this.report(['loss', 'options', key], `loss.options.${key} must be a string`);
      }
      return;
    }
    try {
      readBuiltinOptions(options, 'loss.options');
    } catch (err) {
      this.report(['loss', 'options'], (err as Error).message);
    }
    if (options.passScore !== undefined && typeof options.passScore !== 'number') {
      this.report(['loss', 'options', 'passScore'], `loss.options.passScore must be a number`);
    }
    if (options.template !== undefined) {
      if (typeof options.template !== 'string') {
        this.report(['loss', 'options', 'template'], `loss.options.template must be a file path (a string)`);
      } else {
        const file = this.checkFile(['loss', 'options', 'template'], 'loss.options.template: file');
        if (file) this.checkLossTemplate(['loss', 'options', 'template'], file);
      }
    }
  }

  /** A loss template's front matter and frozen/placeholder syntax, as the loss builder reads them. */
  private checkLossTemplate(path: PathSegment[], file: string) {
    const content = this.host.readText?.(file);
    if (content === undefined) return;
    try {
      parseLossTemplate(file, content);
    } catch (err) {
      this.report(path, `${displayPath(path)}: ${(err as Error).message}`);
    }
  }

  /**
   * The prompt file itself: its front matter, frozen regions and placeholders (problems in the prompt file, once per
   * file), then what this agent can fill in: {{task.<field>}} always, {{input}} only with input format 'lines', where
   * it must appear exactly once (the forward run refuses anything else).
   */
  private checkPrompt(name: string, spec: Fields, file: string) {
    let prompt = this.prompts.get(file);
    if (!this.prompts.has(file)) {
      const content = this.host.readText?.(file);
      prompt = content === undefined ? undefined : parsePromptFile(content);
      this.prompts.set(file, prompt);
      if (prompt) this.problems.push(...promptProblemsForFile(file, prompt.problems));
    }
    if (!prompt) return;
    const lines = fields(spec.input).format === 'lines';
    let inputs = 0;
    for (const p of prompt.placeholders) {
      if (p.name.startsWith(TASK_PREFIX)) continue;
      if (p.name === 'input' && lines) {
        inputs++;
        continue;
      }
      const message =
        p.name === 'input'
          ? `{{input}} is only filled for agents with input format 'lines'; agent '${name}' has format 'blocks' (its input blocks are the user message)`
          : `unknown placeholder {{${p.name}}} (agent '${name}'): a prompt can use {{task.<field>}}${lines ? ' and {{input}}' : ''}; did you mean {{task.${p.name}}}?`;
      this.problems.push({ file, ...p.range, message, severity: 'error' });
    }
    if (lines && inputs !== 1) {
      this.report(
        ['agents', name, 'prompt'],
        `agent '${name}' has input format 'lines', so its prompt file must say {{input}} exactly once (where the input lines go); it says it ${inputs} times`,
      );
    }
  }

  /** Reports a reference to an undefined model. True when the reference is present and valid. */
  private checkModelReference(path: PathSegment[], who: string): boolean {
    const ref = text(this.valueAt(path));
    if (ref === undefined) return false;
    if (Object.hasOwn(this.models, ref)) return true;
    const known = Object.keys(this.models);
    const hint = known.length ? `defined models: ${known.join(', ')}` : `no models are defined (add them under 'models')`;
    this.report(path, `${who}: unknown model '${ref}'; ${hint}`);
    return false;
  }

  /**
   * A path relative to the system file's folder must name an existing regular file (or folder, for `expect:
   * 'directory'`) inside that folder: written as `../..` or absolute, or a symbolic link pointing out, it is an error
   * unless the file says `allowPathsOutside: true`. Returns the absolute path when the file can be used.
   */
  private checkFile(path: PathSegment[], what: string, severity: Problem['severity'] = 'error', expect: 'file' | 'directory' = 'file'): string | undefined {
    const written = text(this.valueAt(path));
    if (written === undefined || written === '') return undefined;
    const absolute = resolve(this.dir, written);
    const field = displayPath(path);
    const checkInside = expect === 'file' && !this.allowOutside;
    const outside = `outside the system's folder ${this.dir}; move it inside, or set 'allowPathsOutside: true' at the top level of the system file to allow it`;
    if (checkInside && !isInside(this.dir, absolute)) {
      this.report(path, `${field}: '${written}' is ${outside}`);
      return undefined;
    }
    if (!this.host.exists(absolute)) {
      this.report(path, `${what} '${written}' not found`, severity);
      return undefined;
    }
    const { kind, real } = this.resolvePath(absolute);
    if (kind !== 'missing' && kind !== expect) {
      const is = kind === 'directory' ? 'a folder' : kind === 'file' ? 'a file' : 'not a regular file (a device, socket or pipe)';
      this.report(path, `${what} '${written}' is ${is}; it must be ${expect === 'file' ? 'a regular file' : 'a folder'}`, severity);
      return undefined;
    }
    if (checkInside && !isInside(this.realDir, real)) {
      this.report(path, `${field}: '${written}' is a symbolic link to ${real}, ${outside}`);
      return undefined;
    }
    return absolute;
  }

  private resolvePath(absolute: string): ResolvedPath {
    let found = this.resolved.get(absolute);
    if (!found) {
      found = { kind: this.host.kind?.(absolute) ?? 'missing', real: this.host.realPath?.(absolute) ?? absolute };
      this.resolved.set(absolute, found);
    }
    return found;
  }

  private valueAt(path: readonly PathSegment[]): unknown {
    let value: unknown = this.data;
    for (const segment of path) value = fields(value)[String(segment)];
    return value;
  }

  private agentList(): string {
    const names = Object.keys(this.agents);
    if (names.length > MAX_LISTED_AGENTS) return `${names.slice(0, MAX_LISTED_AGENTS).join(', ')}, ... (${names.length} agents)`;
    return names.join(', ') || 'none';
  }
}

/** Why a baseUrl that starts with http(s):// is still unusable, or undefined when it is fine. */
function baseUrlProblem(url: string): string | undefined {
  const authority = /^https?:\/\/([^/?#]*)/i.exec(url)?.[1];
  if (authority === undefined) return undefined; // the schema's pattern reports it
  const host = authority.replace(/^[^@]*@/, '').replace(/:\d*$/, '');
  if (host === '') return `'${url}' has no host`;
  try {
    new URL(url);
  } catch {
    return `'${url}' is not a valid URL`;
  }
  return undefined;
}

/** Problems the schema cannot see, for data that parsed as YAML. */
export function semanticProblems(source: YamlSource, data: unknown, host: FileHost): Problem[] {
  if (!isFields(data)) return [];
  return new SemanticCheck(source, data, host).run();
}

// ---------------------------------------------------------------------------------------------------------------
// Building the resolved SystemConfig. Only called when there are no errors, so the data matches the schema.

/** The file's data as the schema guarantees it (optional fields may be absent). */
interface RawSystem {
  name?: string;
  allowPathsOutside?: boolean;
  description?: string;
  models?: Record<string, RawModel>;
  agents: Record<string, RawAgent>;
  output: string;
  tools?: { module: string; timeoutSeconds?: number };
  attribution?: { model?: string; strategy?: AttributionStrategy; topK?: number; backends?: Array<{ url: string; tokenEnv: string; ca?: string; concurrency?: number }> };
  datasets?: { train?: string; validation?: string; test?: string };
  loss?: { template?: string; builtin?: string; options?: Record<string, unknown>; timeoutSeconds?: number };
  optimizer?: {
    kind?: 'llm' | 'warnings';
    model?: string;
    batchSize?: number;
    steps?: number;
    acceptanceTest?: boolean;
    maxPromptChars?: number;
    budget?: { maxCalls?: number; maxTokens?: number; maxCostUsd?: number };
  };
  environment?: { module: string; maxTurns?: number; options?: Record<string, unknown>; timeoutSeconds?: number };
}

type RawModel =
  | {
      provider: 'openai';
      baseUrl?: string;
      model: string;
      apiKeyEnv?: string;
      parameters?: Record<string, unknown>;
      timeoutSeconds?: number;
      maxRetries?: number;
      price?: { inputPerMTok: number; outputPerMTok: number };
    }
  | { provider: 'local'; path: string; device?: 'auto' | 'cpu' | 'cuda' | 'webgpu'; parameters?: Record<string, unknown> }
  | { provider: 'replay'; field?: string };

interface RawAgent {
  prompt: string;
  label?: string;
  optimize?: boolean;
  input?: { format?: 'blocks' | 'lines'; template?: string; separator?: string };
  model: string;
  inputs?: string[];
  tools?: string[];
  maxToolSteps?: number;
  description?: string;
}

export function buildSystem(source: YamlSource, data: unknown, host: FileHost): SystemConfig {
  const raw = data as RawSystem;
  const file = source.file;
  const dir = dirname(file);
  const abs = (p: string) => resolve(dir, p);
  const entryRange = (path: PathSegment[]) => {
    const { key, value } = source.locate(path);
    return source.rangeOfEntry(key, value);
  };

  const models: Record<string, ModelConfig> = {};
  for (const [name, m] of Object.entries(raw.models ?? {})) {
    const range = entryRange(['models', name]);
    models[name] =
      m.provider === 'replay'
        ? { kind: 'replay', name, field: m.field ?? DEFAULTS.replayField, parameters: {}, range }
        : m.provider === 'local'
        ? { kind: 'local', name, path: resolveModelPath(dir, m.path, (p) => host.exists(p)).path, device: m.device ?? DEFAULTS.localDevice, parameters: m.parameters ?? {}, range }
        : {
            kind: 'endpoint',
            name,
            baseUrl: m.baseUrl ?? DEFAULTS.endpointBaseUrl,
            model: m.model,
            ...(m.apiKeyEnv !== undefined && { apiKeyEnv: m.apiKeyEnv }),
            parameters: m.parameters ?? {},
            ...(m.timeoutSeconds !== undefined && { timeoutSeconds: m.timeoutSeconds }),
            ...(m.maxRetries !== undefined && { maxRetries: m.maxRetries }),
            ...(m.price !== undefined && { price: { inputPerMTok: m.price.inputPerMTok, outputPerMTok: m.price.outputPerMTok } }),
            range,
          };
  }

  const agents: AgentConfig[] = Object.entries(raw.agents).map(([name, a]) => {
    const inputs: AgentInput[] = (a.inputs ?? []).map((ref, i) => {
      const range = source.rangeOf(source.locate(['agents', name, 'inputs', i]).value);
      return ref.startsWith(TASK_PREFIX)
        ? { kind: 'task', field: ref.slice(TASK_PREFIX.length), range }
        : { kind: 'agent', agent: ref, range };
    });
    const input: InputFormat =
      a.input?.format === 'lines'
        ? { format: 'lines', template: a.input.template ?? DEFAULTS.lineTemplate, separator: a.input.separator ?? DEFAULTS.lineSeparator }
        : { format: 'blocks' };
    return {
      name,
      label: a.label ?? name,
      input,
      optimize: a.optimize ?? true,
      promptFile: abs(a.prompt),
      model: a.model,
      inputs,
      tools: a.tools ?? [],
      maxToolSteps: a.maxToolSteps ?? DEFAULTS.maxToolSteps,
      ...(a.description !== undefined && { description: a.description }),
      range: entryRange(['agents', name]),
    };
  });

  const edges = agents.flatMap((a) => a.inputs.flatMap((i) => (i.kind === 'agent' ? [{ from: i.agent, to: a.name }] : [])));
  const order = topologicalOrder(
    agents.map((a) => a.name),
    edges,
  );
  if (!order) throw new Error('buildSystem: the agent graph has a cycle (validation should have reported it)');

  const loss: LossConfig | undefined = raw.loss
    ? raw.loss.template !== undefined
      ? { kind: 'template', file: abs(raw.loss.template) }
      : { kind: 'builtin', name: raw.loss.builtin!, options: raw.loss.options ?? {} }
    : undefined;

  const opt = raw.optimizer ?? {};
  const datasets: SystemConfig['datasets'] = {};
  for (const split of ['train', 'validation', 'test'] as const) {
    const p = raw.datasets?.[split];
    if (p !== undefined) datasets[split] = abs(p);
  }

  return {
    file,
    dir,
    allowPathsOutside: raw.allowPathsOutside ?? false,
    name: raw.name ?? (basename(dir) || 'system'),
    ...(raw.description !== undefined && { description: raw.description }),
    models,
    agents,
    order,
    output: raw.output,
    ...(raw.tools && { toolsModule: abs(raw.tools.module) }),
    attribution: {
      ...(raw.attribution?.model !== undefined && { model: raw.attribution.model }),
      strategy: raw.attribution?.strategy ?? DEFAULTS.attributionStrategy,
      topK: raw.attribution?.topK ?? DEFAULTS.topK,
      ...(raw.attribution?.backends && { backends: raw.attribution.backends.map((b) => ({ ...b, ...(b.ca !== undefined && { ca: abs(b.ca) }) })) }),
    },
    datasets,
    ...(loss && { loss }),
    optimizer: {
      kind: opt.kind ?? (opt.model !== undefined ? 'llm' : 'warnings'),
      ...(opt.model !== undefined && { model: opt.model }),
      batchSize: opt.batchSize ?? DEFAULTS.batchSize,
      steps: opt.steps ?? DEFAULTS.steps,
      acceptanceTest: opt.acceptanceTest ?? DEFAULTS.acceptanceTest,
      budget: { ...opt.budget },
      maxPromptChars: opt.maxPromptChars ?? DEFAULTS.maxPromptChars,
    },
    ...(raw.environment && {
      environment: {
        module: abs(raw.environment.module),
        maxTurns: raw.environment.maxTurns ?? DEFAULTS.environmentMaxTurns,
        options: raw.environment.options ?? {},
      },
    }),
    timeouts: {
      toolSeconds: raw.tools?.timeoutSeconds ?? DEFAULTS.toolTimeoutSeconds,
      environmentSeconds: raw.environment?.timeoutSeconds ?? DEFAULTS.environmentTimeoutSeconds,
      lossSeconds: raw.loss?.timeoutSeconds ?? DEFAULTS.lossTimeoutSeconds,
    },
  };
}
