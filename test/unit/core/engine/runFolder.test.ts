// The run folder and datasets: what is written can be read back, and bad input names file:line.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataset } from '../../../../src/core/engine/dataset';
import { RunFolder, manifestAttribution, runsDirFor } from '../../../../src/core/engine/runFolder';
import type { SystemConfig } from '../../../../src/core/system/types';
import { RUN_FILES, type Proposal, type SampleOutcome } from '../../../../src/core/engine/types';
import { appendBlocks, renderBlocks, taskBlock, agentBlock, toolBlock, attributedOutput } from '../../../../src/core/engine/blocks';
import { bareManifest } from './helpers';

describe('RunFolder', () => {
  test('create, append, write and read back; a torn last line is skipped', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'agentchord-runfolder-'));
    try {
      const folder = RunFolder.create(workspace, bareManifest(workspace, 'optimize'));
      assert.equal(folder.dir, join(runsDirFor(workspace), folder.id));
      const sample: SampleOutcome = { sampleId: 's1', split: 'train', output: 'x', metrics: { em: 0 }, score: 0, loss: 'wrong' };
      folder.appendSample(sample);
      folder.appendTrajectories([{ sampleId: 's1', path: ['a', 'loss'], agents: ['a'], loss: 'wrong' }]);
      const proposal: Proposal = { runId: folder.id, step: 2, optimizer: 'warnings', reasoning: 'r', changes: [], trajectories: [] };
      assert.equal(folder.writeProposal(proposal), join(folder.dir, 'proposals', 'step-2.json'));
      folder.writeCheckpoint({ runId: folder.id, step: 2, done: ['s1'], prompts: {}, history: [], usage: { calls: 1, promptTokens: 1, completionTokens: 1, costUsd: 0 } });
      folder.updateManifest({ status: 'completed' });
      appendFileSync(join(folder.dir, RUN_FILES.samples), '{"sampleId": "s2", "spl'); // a crash mid-line
      const read = RunFolder.open(folder.dir).read();
      assert.equal(read.manifest.status, 'completed');
      assert.equal(read.manifest.id, folder.id);
      assert.deepEqual(read.samples, [sample]);
      assert.equal(read.trajectories.length, 1);
      assert.deepEqual(read.proposals, [proposal]);
      assert.deepEqual(read.checkpoint?.done, ['s1']);
      assert.deepEqual(read.calls, []);
      assert.deepEqual(readdirSync(folder.dir).filter((f) => f.endsWith('.tmp')), []);
      assert.throws(() => RunFolder.open(workspace), /not a run folder/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('RunFolder on a full disk', () => {
  test('ENOSPC names the file that could not be written, and leaves no temp file', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'agentchord-runfolder-full-'));
    try {
      const folder = RunFolder.create(workspace, bareManifest(workspace, 'run'));
      const full = mock.method(fs, 'writeSync', () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      });
      try {
        const manifest = join(folder.dir, RUN_FILES.manifest);
        assert.throws(() => folder.updateManifest({ status: 'completed' }), (err: NodeJS.ErrnoException) => err.message === `${manifest}: ENOSPC: no space left on device, write` && err.code === 'ENOSPC');
        const samples = join(folder.dir, RUN_FILES.samples);
        assert.throws(() => folder.appendSample({ sampleId: 's1', split: 'train', output: 'x', metrics: {}, score: 0, loss: '' }), (err: Error) => err.message.startsWith(`${samples}: ENOSPC`));
      } finally {
        full.mock.restore();
      }
      assert.deepEqual(readdirSync(folder.dir).filter((f) => f.endsWith('.tmp')), []);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('datasets', () => {
  test('ids come from the id field or the line number; bad lines name file:line', () => {
    const samples = parseDataset('d.jsonl', '{"id": 7, "q": "a"}\n\n{"q": "b"}\n');
    assert.deepEqual(samples, [{ id: '7', fields: { id: 7, q: 'a' } }, { id: '3', fields: { q: 'b' } }]);
    assert.throws(() => parseDataset('d.jsonl', '{"q": 1}\n{"q": '), /^Error: d\.jsonl:2: not valid JSON/);
    assert.throws(() => parseDataset('d.jsonl', '[1]'), /d\.jsonl:1: a task sample must be a JSON object/);
    assert.throws(() => parseDataset('d.jsonl', '{"id": "a"}\n{"id": "a"}'), /d\.jsonl:2: id "a" is used again \(first on line 1\)/);
  });
});

describe('blocks', () => {
  test('each block content is delimited and located exactly, whatever it contains', () => {
    const tricky = 'line one\n</block>\n### heading\n"quoted"';
    const { text, blocks } = renderBlocks([taskBlock('q', { n: 1 }), agentBlock('a"b', 'c1', tricky), agentBlock('empty', 'c2', '')]);
    assert.equal(text.slice(blocks[0].charStart, blocks[0].charEnd), '{\n  "n": 1\n}');
    assert.equal(text.slice(blocks[1].charStart, blocks[1].charEnd), tricky);
    assert.equal(blocks[2].charStart, blocks[2].charEnd);
    assert.ok(text.startsWith('<block source="task.q">\n{'));
    assert.ok(text.includes('<block source="agent:a&quot;b">\n'));
    const again = appendBlocks({ text, blocks }, [toolBlock({ id: 'call_0', name: 'f', arguments: '{}', result: 'r1' }, 'c3'), toolBlock({ id: 'call_0', name: 'f', arguments: '{}', result: 'r2' }, 'c4')]);
    assert.deepEqual(again.blocks.slice(3).map((b) => b.id), ['tool:call_0', 'tool:call_0#2'], 'reused tool-call ids stay distinct');
    assert.equal(attributedOutput({ output: '', toolCalls: [{ id: 'c', name: 'add', arguments: '{"a":1}', result: '' }] }), 'add({"a":1})');
  });
});

describe('manifestAttribution', () => {
  const system = (attributionModel: string | undefined, agentModels: string[]) =>
    ({
      attribution: { model: attributionModel, strategy: 'max_grad_input', topK: 2 },
      agents: agentModels.map((model, i) => ({ name: `a${i}`, model })),
    }) as unknown as SystemConfig;

  test('names the model and flags a surrogate when an agent runs on another model', () => {
    assert.deepEqual(manifestAttribution(system('local', ['local', 'gpt'])), { model: 'local', strategy: 'max_grad_input', topK: 2, surrogate: true });
    assert.deepEqual(manifestAttribution(system('local', ['local'])), { model: 'local', strategy: 'max_grad_input', topK: 2, surrogate: false });
  });

  test('without attribution (no model, or turned off) no model is named and nothing is a surrogate', () => {
    assert.deepEqual(manifestAttribution(system(undefined, ['gpt'])), { strategy: 'max_grad_input', topK: 2, surrogate: false });
    assert.deepEqual(manifestAttribution(system('local', ['gpt']), false), { strategy: 'max_grad_input', topK: 2, surrogate: false });
  });
});
