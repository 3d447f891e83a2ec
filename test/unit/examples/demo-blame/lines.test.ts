/** The `lines` input format and replay models in the forward run (no model needed: the errors come first). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentBlock, renderLines, taskBlock } from '../../../../src/core/engine/blocks';
import { renderPlainChat } from '../../../../src/core/engine/localModels';
import { runForward } from '../../../../src/core/engine/forward';
import { makeModelResolver } from '../../../../src/core/engine/models';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import { loadSystemFile } from '../../../../src/core/system';
import { writeCaseSystem, type BlameCase } from '../../../../bench/blame/cases';

describe('lines format', () => {
  test('one line per block, the whole line is the block, labels from the agent or the field name', () => {
    const { text, blocks } = renderLines([agentBlock('scout', 'c1', 'Lucy has a red ball.', 'Scout'), taskBlock('note', 'I am {{happy}}.')], '{{label}}: {{content}}', '\n');
    assert.equal(text, 'Scout: Lucy has a red ball.\nnote: I am {{happy}}.');
    assert.deepEqual(blocks.map((b) => text.slice(b.charStart, b.charEnd)), ['Scout: Lucy has a red ball.', 'note: I am {{happy}}.']);
    assert.deepEqual(blocks.map((b) => b.id), ['agent:scout', 'task.note']);
  });

  test('a lone user message is sent to a plain-text model exactly as written; system + user keep their layout', () => {
    assert.equal(renderPlainChat([{ role: 'user', content: 'A: x.\nQuestion: q?\nAnswer:' }]), 'A: x.\nQuestion: q?\nAnswer:');
    assert.equal(renderPlainChat([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]), 'S\n\nU\n\n');
  });
});

describe('forward run errors name the file and field at fault', () => {
  const c: BlameCase = { id: 'c', origin: 'generated', lines: [{ label: 'Planner', text: 'Max has a red cup.' }, { label: 'Scout', text: 'Sue has a big dog.' }], person: 'Sue', answer: ' a big dog.', source: 1 };

  async function forward(edit: (dir: string) => void, fields: Record<string, unknown>) {
    const dir = mkdtempSync(join(tmpdir(), 'agentchord-lines-'));
    try {
      writeCaseSystem(dir, c, join(dir, 'no-model'));
      const { system, problems } = loadSystemFile(join(dir, 'agentchord.yaml'));
      assert.ok(system, problems.map((p) => p.message).join('\n'));
      // After validation (which checks the prompt files too): the run must still refuse a file changed since.
      edit(dir);
      const runFolder = RunFolder.create(dir, {
        systemFile: system.file,
        kind: 'run',
        status: 'running',
        dataset: { split: 'train', file: 'x', samples: 1 },
        attribution: { strategy: 'mean_l1_norm', topK: 1, surrogate: false },
        usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
      });
      await runForward({ system, samples: [{ id: 's1', fields }], runFolder, models: makeModelResolver(system, { apiKey: () => undefined, cacheDir: false }) });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('a lines prompt without {{input}}', async () => {
    const message = await forward((dir) => writeFileSync(join(dir, 'answerer.chord.md'), 'Question: What does {{task.person}} have?\nAnswer:'), {
      reports: { r0: 'Max has a red cup.', r1: 'Sue has a big dog.' },
      person: 'Sue',
    });
    assert.match(message ?? '', /sample "s1", agent "answerer": .*answerer\.chord\.md: agent "answerer" has input format 'lines', so its prompt must say \{\{input\}\} exactly once/);
  });

  test('a replay model with no reply for an agent', async () => {
    const message = await forward(() => {}, { reports: { r0: 'Max has a red cup.' }, person: 'Sue' });
    assert.match(message ?? '', /sample "s1", agent "r1": replay model "reports": the task has no reply for this agent \(field reports\.r1\)/);
  });
});
