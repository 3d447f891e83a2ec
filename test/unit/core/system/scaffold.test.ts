/** The New System scaffold and the checked-in example are working systems with zero problems. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadSystemFile, SYSTEM_FILE_NAME } from '../../../../src/core/system';
import { ENDPOINT_SURROGATE, scaffoldSystem, type ScaffoldOptions } from '../../../../src/core/system/scaffold';
import { parsePromptFile } from '../../../../src/core/prompt';
import { repoPath } from '../../repo';

function writeScaffold(name: string, options: Omit<ScaffoldOptions, 'name'> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-scaffold-'));
  for (const f of scaffoldSystem({ name, ...options })) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  return dir;
}

/** Each prompt has a placeholder and a frozen region, and parses without problems. */
function assertPromptsWellFormed(promptFiles: string[]) {
  for (const file of promptFiles) {
    const prompt = parsePromptFile(readFileSync(file, 'utf8'));
    assert.deepEqual(prompt.problems, [], file);
    assert.ok(prompt.placeholders.length >= 1, `${file} has a {{variable}}`);
    assert.equal(prompt.frozenRegions.length, 1, `${file} has one <DONT_CHANGE> region`);
  }
}

function assertJsonl(file: string, minLines: number) {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.ok(lines.length >= minLines, file);
  for (const line of lines) assert.equal(typeof JSON.parse(line), 'object', `${file}: ${line}`);
}

describe('scaffold', () => {
  test('a new system validates with zero problems', () => {
    const dir = writeScaffold('Support "desk": v2');
    try {
      // The one problem: the surrogate (a repository id) is not pulled in an empty model cache.
      process.env.AGENTCHORD_MODELS = join(dir, 'no-models');
      const result = loadSystemFile(join(dir, SYSTEM_FILE_NAME));
      delete process.env.AGENTCHORD_MODELS;
      assert.deepEqual(result.problems.map((p) => [p.severity, p.message.replace(/ \(.*\)/, '')]), [
        ['warning', `model 'surrogate': model folder '${ENDPOINT_SURROGATE}' not found, nor pulled into the model cache as a repository; run: agentchord model pull ${ENDPOINT_SURROGATE}`],
      ]);
      const system = result.system!;
      assert.equal(system.attribution.model, 'surrogate');
      assert.equal(system.name, 'Support "desk": v2'); // quoted safely in the YAML
      assert.deepEqual(system.order, ['researcher', 'critic', 'writer']);
      assert.equal(system.output, 'writer');
      const gpt = system.models.gpt;
      assert.ok(gpt.kind === 'endpoint' && gpt.apiKeyEnv === 'OPENAI_API_KEY');
      assert.equal(system.loss?.kind, 'builtin');
      assertPromptsWellFormed(system.agents.map((a) => a.promptFile));
      assert.equal(readFileSync(system.datasets.train!, 'utf8').trim().split('\n').length, 3);
      assertJsonl(system.datasets.train!, 3);
      assertJsonl(system.datasets.validation!, 1);
      assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /agentchord validate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('paths are relative and unique; README is the second file of both templates', () => {
    for (const template of ['endpoint', 'offline'] as const) {
      const paths = scaffoldSystem({ name: 'x', template, retrievalModel: repoPath('models/chord-retrieval') }).map((f) => f.path);
      assert.equal(new Set(paths).size, paths.length);
      for (const p of paths) assert.ok(!p.startsWith('/') && !p.includes('..') && !p.includes('\\'), p);
      assert.deepEqual(paths.slice(0, 2), ['agentchord.yaml', 'README.md']);
    }
  });

  test('the offline template: zero problems, the answerer on chord-retrieval in the lines format, replayed reporters', () => {
    const model = repoPath('models/chord-retrieval');
    const dir = writeScaffold('first', { template: 'offline', retrievalModel: model });
    try {
      const result = loadSystemFile(join(dir, SYSTEM_FILE_NAME));
      assert.deepEqual(result.problems, []);
      const system = result.system!;
      assert.deepEqual(system.order, ['planner', 'checker', 'scout', 'answerer']);
      const retrieval = system.models.retrieval;
      assert.ok(retrieval.kind === 'local' && retrieval.path === model);
      assert.equal(system.attribution.model, 'retrieval');
      const answerer = system.agents.find((a) => a.name === 'answerer')!;
      assert.deepEqual(answerer.input, { format: 'lines', template: '{{label}}: {{content}}', separator: '\n' });
      assert.equal(system.models.reports.kind, 'replay');
      assertJsonl(system.datasets.train!, 2);
      assertJsonl(system.datasets.validation!, 2);
      assert.throws(() => scaffoldSystem({ name: 'x', template: 'offline' }), /needs the chord-retrieval model folder/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('examples/hello', () => {
  test('validates with zero problems', () => {
    const result = loadSystemFile(repoPath('examples/hello/agentchord.yaml'));
    assert.deepEqual(result.problems, []);
    const system = result.system!;
    assert.equal(system.name, 'hello');
    assert.equal(system.agents.length, 3);
    assert.deepEqual(system.order, ['extractor', 'checker', 'responder']);
    assert.deepEqual(system.loss && { kind: system.loss.kind, name: system.loss.kind === 'builtin' ? system.loss.name : undefined }, { kind: 'builtin', name: 'llm_judge' });
    assertPromptsWellFormed(system.agents.map((a) => a.promptFile));
    assertJsonl(system.datasets.train!, 3);
    assertJsonl(system.datasets.validation!, 3);
  });
});
