/**
 * Checks the schema cannot express: references between fields (agents, models, output), the shape of the agent
 * graph (cycles, agents that never reach the output) and files that must exist. Then, for a file without errors,
 * builds the resolved SystemConfig (absolute paths, defaults applied, topological order).
 *
 * The checks run even when the schema found problems (so a user sees all of them at once), so they read the data
 * defensively: anything of an unexpected type was already reported by the schema and is skipped here.
 */
import { basename, dirname, resolve } from 'node:path';
import { DEFAULTS } from './defaults';
import { findClosingEdges, nodesReaching, topologicalOrder } from './graph';
import type { Edge } from './graph';
import type {
  AgentConfig,
  AgentInput,
  AttributionStrategy,
  FileHost,
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
  readonly edges: InputEdge[] = [];

  constructor(
    private readonly source: YamlSource,
    private readonly data: Fields,
    private readonly host: FileHost,
  ) {
    this.dir = dirname(source.file);
    this.agents = fields(data.agents);
    this.models = fields(data.models);
  }

  run(): Problem[] {
    for (const [name, spec] of Object.entries(this.agents)) this.checkAgent(name, fields(spec));
    this.checkGraph();
    this.checkModels();
    this.checkSettings();
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
    this.checkFile([...at, 'prompt'], `agent '${name}': prompt file`);
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
      if (model.provider === 'local' && text(model.path) !== undefined) {
        // A warning: the folder may be downloaded later; only attribution and local runs need it.
        this.checkFile(['models', name, 'path'], `model '${name}': model folder`, 'warning');
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

    const optimizer = fields(this.data.optimizer);
    this.checkModelReference(['optimizer', 'model'], 'optimizer');
    if (optimizer.kind === 'llm' && optimizer.model === undefined) {
      this.report(['optimizer', 'kind'], `optimizer kind 'llm' needs 'optimizer.model': the model that rewrites prompts`);
    }

    for (const split of ['train', 'validation', 'test']) this.checkFile(['datasets', split], `datasets.${split}: file`);
    this.checkFile(['tools', 'module'], 'tools.module: file');
    this.checkFile(['loss', 'template'], 'loss.template: file');
    this.checkFile(['environment', 'module'], 'environment.module: file');
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

  /** A path relative to the system file's folder must name an existing file or folder. */
  private checkFile(path: PathSegment[], what: string, severity: Problem['severity'] = 'error') {
    const written = text(this.valueAt(path));
    if (written === undefined || written === '') return;
    if (!this.host.exists(resolve(this.dir, written))) this.report(path, `${what} '${written}' not found`, severity);
  }

  private valueAt(path: readonly PathSegment[]): unknown {
    let value: unknown = this.data;
    for (const segment of path) value = fields(value)[String(segment)];
    return value;
  }

  private agentList(): string {
    return Object.keys(this.agents).join(', ') || 'none';
  }
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
  description?: string;
  models?: Record<string, RawModel>;
  agents: Record<string, RawAgent>;
  output: string;
  tools?: { module: string };
  attribution?: { model?: string; strategy?: AttributionStrategy; topK?: number };
  datasets?: { train?: string; validation?: string; test?: string };
  loss?: { template?: string; builtin?: string; options?: Record<string, unknown> };
  optimizer?: {
    kind?: 'llm' | 'warnings';
    model?: string;
    batchSize?: number;
    steps?: number;
    acceptanceTest?: boolean;
    maxPromptChars?: number;
    budget?: { maxCalls?: number; maxTokens?: number; maxCostUsd?: number };
  };
  environment?: { module: string; maxTurns?: number; options?: Record<string, unknown> };
}

type RawModel =
  | { provider: 'openai'; baseUrl?: string; model: string; apiKeyEnv?: string; parameters?: Record<string, unknown> }
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

export function buildSystem(source: YamlSource, data: unknown): SystemConfig {
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
        ? { kind: 'local', name, path: abs(m.path), device: m.device ?? DEFAULTS.localDevice, parameters: m.parameters ?? {}, range }
        : {
            kind: 'endpoint',
            name,
            baseUrl: m.baseUrl ?? DEFAULTS.endpointBaseUrl,
            model: m.model,
            ...(m.apiKeyEnv !== undefined && { apiKeyEnv: m.apiKeyEnv }),
            parameters: m.parameters ?? {},
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
  };
}
