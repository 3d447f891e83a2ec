/**
 * Field validation against schemas/agentchord.schema.json (the same schema editors use for completion and hover),
 * with each ajv error turned into a Problem at the YAML node it is about and a message a user can act on.
 */
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import schemaJson from '../../../schemas/agentchord.schema.json';
import type { Problem } from './types';
import type { PathSegment, YamlSource } from './yamlSource';

export const SYSTEM_SCHEMA: Record<string, unknown> = schemaJson;

let compiled: ValidateFunction | undefined;

/** Compiled once, on first use (compiling costs a few milliseconds; validation as-you-type runs often). */
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({
      allErrors: true,
      verbose: true, // errors carry the failing value and its schema, used to build messages
      discriminator: true, // models: choose the endpoint/local branch by `provider`, so errors are about that branch
      strictRequired: false,
    });
    // Annotation only: the message VS Code shows for a failed pattern/oneOf; used for our messages too.
    ajv.addKeyword('errorMessage');
    compiled = ajv.compile(SYSTEM_SCHEMA);
  }
  return compiled;
}

/** Problems for every field of `data` that the schema rejects. */
export function schemaProblems(source: YamlSource, data: unknown): Problem[] {
  const validate = validator();
  if (validate(data)) return [];
  const errors = relevantErrors(validate.errors ?? []);
  return errors.map((e) => errorToProblem(source, e));
}

/** Drops errors that only repeat or explain another one in less useful words. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  // A oneOf/anyOf with an `errorMessage` speaks for its branches: hide the branches' own errors.
  const summarised = errors
    .filter((e) => (e.keyword === 'oneOf' || e.keyword === 'anyOf') && typeof e.parentSchema?.errorMessage === 'string')
    .map((e) => e.schemaPath + '/');
  return errors.filter((e) => {
    if (summarised.some((prefix) => e.schemaPath.startsWith(prefix))) return false;
    // The `provider` enum error already says which providers exist.
    if (e.keyword === 'discriminator') return false;
    // The inner pattern error of propertyNames names the key; the wrapper adds nothing.
    if (e.keyword === 'propertyNames') return false;
    return true;
  });
}

function pathOf(e: ErrorObject): PathSegment[] {
  if (!e.instancePath) return [];
  return e.instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `agents.manager.inputs[2]` for a path; how messages name a field. */
export function displayPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const s of path) out += /^\d+$/.test(String(s)) ? `[${s}]` : out ? `.${s}` : String(s);
  return out;
}

/** "agent 'manager'" for a path into an agent, "model 'gpt'" into a model, else the field path. */
function owner(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'the top level';
  if (path.length === 2 && path[0] === 'agents') return `agent '${path[1]}'`;
  if (path.length === 2 && path[0] === 'models') return `model '${path[1]}'`;
  return `'${displayPath(path)}'`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (key: value)',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 40 ? text.slice(0, 37) + '...' : text;
}

/** Hints for fields people commonly put where they don't belong. */
const UNKNOWN_FIELD_HINTS: Record<string, string> = {
  apiKey: "never put an API key in the file: name the environment variable holding it with 'apiKeyEnv'",
  api_key: "never put an API key in the file: name the environment variable holding it with 'apiKeyEnv'",
  input: "did you mean 'inputs' (a list)?",
};

/** How the keys of common providers start (OpenAI, Anthropic, Hugging Face, GitHub, GitLab, Slack, Google). */
const KEY_PREFIX = /^(sk|pk|rk|hf|ghp|gho|ghu|ghs|github_pat|glpat|xox[abprs]|AIza)[-_]/;

/**
 * Whether a string is more likely an API key than the name of an environment variable: a known key prefix, or a long
 * string mixing lower case, upper case and digits (variable names are short words, usually upper case).
 */
export function looksLikeApiKey(value: string): boolean {
  if (KEY_PREFIX.test(value) && value.length >= 16) return true;
  if (/^(AKIA|ASIA)[A-Z0-9]{16}$/.test(value)) return true;
  return value.length >= 20 && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

function errorToProblem(source: YamlSource, e: ErrorObject): Problem {
  const path = pathOf(e);
  const field = displayPath(path) || 'the system file';
  const got = describeValue(e.data);
  const custom = typeof e.parentSchema?.errorMessage === 'string' ? (e.parentSchema.errorMessage as string) : undefined;
  const params = e.params as Record<string, unknown>;

  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const hint = Object.hasOwn(UNKNOWN_FIELD_HINTS, name) ? UNKNOWN_FIELD_HINTS[name] : `allowed here: ${allowed.join(', ')}`;
      const where = path.length === 0 ? 'at the top level' : `in ${owner(path)}`;
      return source.problem(source.keyOrValue([...path, name]), `unknown field '${name}' ${where}; ${hint}`);
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const message = path.length === 0 ? `missing required top-level field '${missing}'` : `${owner(path)}: missing required field '${missing}'`;
      return source.problem(source.keyOrValue(path), message);
    }
    case 'type': {
      const expected = String(params.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ');
      if (path.length === 0) {
        return source.problem(undefined, `the system file must be a YAML mapping (e.g. 'version: 1'), got ${got}`);
      }
      return source.problem(source.locate(path).value, `${field} must be ${expected}, got ${got}`);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String).join(', ');
      return source.problem(source.locate(path).value, `${field}: ${got} is not one of the allowed values: ${allowed}`);
    }
    case 'const':
      return source.problem(source.locate(path).value, `${field} must be ${JSON.stringify(params.allowedValue)}, got ${got}`);
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const integer = e.parentSchema?.type === 'integer' ? 'an integer ' : '';
      return source.problem(
        source.locate(path).value,
        `${field} must be ${integer}${String(params.comparison)} ${String(params.limit)}, got ${got}`,
      );
    }
    case 'minLength':
      return source.problem(source.locate(path).value, `${field} must not be empty`);
    case 'minProperties':
      return source.problem(source.keyOrValue(path), `${field} must define at least one entry`);
    case 'pattern': {
      if (e.propertyName !== undefined) {
        // From propertyNames: the offending thing is a key, e.g. an agent name.
        return source.problem(
          source.keyOrValue([...path, e.propertyName]),
          `invalid name '${e.propertyName}' in ${field}: ${custom ?? `it must match ${String(params.pattern)}`}`,
        );
      }
      if (path.at(-1) === 'apiKeyEnv') {
        // Whatever is here may be a pasted key: it must not be echoed into the terminal, a log or the Problems panel.
        const key = typeof e.data === 'string' && (KEY_PREFIX.test(e.data) || looksLikeApiKey(e.data) || e.data.length >= 16);
        return source.problem(source.locate(path).value, `${field}: ${key ? 'this looks like a key, not a variable name; ' : ''}${custom ?? 'must be a variable name'}`);
      }
      return source.problem(
        source.locate(path).value,
        `${field}: ${custom ?? `must match ${String(params.pattern)}`}, got ${got}`,
      );
    }
    case 'uniqueItems': {
      const second = Math.max(Number(params.i), Number(params.j)); // point at the repeat, not the first one
      const items = Array.isArray(e.data) ? e.data : [];
      return source.problem(source.locate([...path, second]).value, `${field}: ${describeValue(items[second])} is listed twice`);
    }
    case 'oneOf':
    case 'anyOf':
      return source.problem(source.keyOrValue(path), `${field}: ${custom ?? e.message ?? 'does not match the schema'}`);
    case 'dependencies':
      return source.problem(
        source.keyOrValue([...path, String(params.property)]),
        `${field}: '${String(params.property)}' is only allowed together with '${String(params.missingProperty)}'`,
      );
    default:
      return source.problem(source.keyOrValue(path), `${field} ${e.message ?? 'is invalid'}`);
  }
}
