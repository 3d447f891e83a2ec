import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessModels } from '../../../../src/backend/inProcess';
import { lensTexts, summarizeAgents, summarizeLoss } from '../../../../src/extension/pure/codelens/agentSummary';
import { applyHunks, proposalHunks } from '../../../../src/extension/pure/review/hunks';
import { reviewMarkdown } from '../../../../src/extension/pure/review/reviewDocument';
import { computePromptSaliency } from '../../../../src/extension/pure/saliency/promptSaliency';
import { realStoriesRun } from './realRun';

describe('CodeLens summaries', () => {
  test('blame share, strongest connections, trajectories and loss from a real run', { timeout: 120_000 }, async () => {
    const { contents, system } = await realStoriesRun();
    const summaries = summarizeAgents(contents, system.agents.map((a) => a.name));
    const total = contents.trajectories.length;
    assert.ok(total > 0);
    const story = summaries.get('storyteller')!;
    // The storyteller is the output agent: every trajectory ends through it.
    assert.equal(story.blameShare, 1);
    assert.equal(story.trajectories.length, total);
    // Its incoming connections are the edges into its calls; the strongest has the largest share of its call's inputs.
    const shares = contents.graphs.flatMap((g) => {
      const into = (to: string) => g.edges.filter((e) => e.kind === 'connection' && e.weight !== undefined && e.to === to);
      return g.nodes
        .filter((n) => n.agent === 'storyteller')
        .flatMap((n) => {
          const total = into(n.id).reduce((sum, e) => sum + Math.abs(e.weight!), 0);
          return into(n.id).map((e) => ({ weight: e.weight!, share: Math.abs(e.weight!) / total }));
        });
    });
    const best = shares.reduce((a, b) => (b.share > a.share ? b : a));
    assert.equal(story.strongestIn!.share, best.share);
    assert.equal(story.strongestIn!.weight, best.weight);
    const lens = (kind: string) => lensTexts(story).find((l) => l.kind === kind);
    assert.match(lens('incoming')!.tooltip, /^Strongest incoming connection: \S+ → storyteller carries \d+% of its input \(w -?\d/);
    assert.ok(['reporterA', 'reporterB', 'task.place'].includes(story.strongestIn!.other));
    assert.equal(story.strongestOut, undefined, 'the output agent feeds only the loss');
    const reporterB = summaries.get('reporterB')!;
    assert.equal(reporterB.strongestOut?.other, 'storyteller');
    const failed = contents.samples.filter((s) => s.loss).length;
    assert.equal(lens('blame')!.title, `blame 100% · ${total}/${total} trajectories`);
    assert.equal(lens('loss')!.title, `${failed}/${contents.samples.length} samples failed`);
    assert.equal(lens('incoming')!.title, `in: ${story.strongestIn!.other} ${Math.round(story.strongestIn!.share * 100)}%`);
    assert.equal(lens('outgoing'), undefined);
  });

  test('loss summary', () => {
    assert.equal(summarizeLoss([]), 'no samples scored');
    assert.equal(summarizeLoss([{ loss: '' }, { loss: '' }]), 'all 2 samples passed');
    assert.equal(summarizeLoss([{ loss: '' }, { loss: 'wrong\nanswer' }], 80), '1/2 samples failed: wrong answer');
    assert.equal(summarizeLoss([{ loss: 'x'.repeat(100) }], 10), `1/1 samples failed: ${'x'.repeat(9)}…`);
  });
});

describe('proposal hunks', () => {
  test('each changed region is its own hunk and applying them gives the proposal', () => {
    const before = 'a\nb\nc\nd\ne\n';
    const after = 'a\nB\nc\nd\ne\nf\n';
    const hunks = proposalHunks(before, after);
    assert.equal(hunks.length, 2);
    assert.deepEqual(hunks[0], { start: 2, end: 4, text: 'B\n' });
    assert.deepEqual(hunks[1], { start: 10, end: 10, text: 'f\n' });
    assert.equal(applyHunks(before, hunks), after);
    assert.equal(applyHunks(before, hunks.slice(0, 1)), 'a\nB\nc\nd\ne\n', 'a hunk can be taken alone');
  });

  test('the real proposal of a run round-trips; the review text names reasoning and trajectories', { timeout: 120_000 }, async () => {
    const { contents, system } = await realStoriesRun();
    const proposal = contents.proposals[0];
    for (const c of proposal.changes) assert.equal(applyHunks(c.before, proposalHunks(c.before, c.after)), c.after);
    const md = reviewMarkdown(proposal, system.dir);
    assert.match(md, /^# AgentChord: proposal of step 0/);
    assert.ok(md.includes(proposal.reasoning.trim()));
    assert.ok(md.includes('prompts/storyteller.chord.md'));
    for (const t of proposal.trajectories) assert.ok(md.includes(`\`${t.sampleId}\`: ${[...t.agents, 'loss'].join(' → ')}`));
  });
});

describe('prompt-file saliency', () => {
  test('the prompt tokens get gradients (no prefix trick) and land on the prompt file text', { timeout: 120_000 }, async () => {
    const { contents, system } = await realStoriesRun();
    const agent = system.agents.find((a) => a.name === 'reporterA')!;
    const call = contents.calls.find((c) => c.agent === 'reporterA')!;
    const fileText = readFileSync(agent.promptFile, 'utf8');
    const backend = inProcessModels({ cacheDir: join(mkdtempSync(join(tmpdir(), 'agentchord-editor-graphs-')), 'graphs') });
    try {
      const model = await backend.model(system.models.tiny.kind === 'local' ? system.models.tiny.path : '', 'cpu');
      const result = await computePromptSaliency(model, call, fileText);
      assert.ok(Number.isFinite(result.logProb) && result.logProb < 0);
      assert.ok(result.tokens.length >= result.promptTokens - 6, `${result.tokens.length}/${result.promptTokens} placed`);
      assert.ok(result.tokens.every((t) => t.l1 > 0 && Number.isFinite(t.gradInput)), 'every prompt token has a gradient');
      const body = fileText.indexOf('Once upon a time');
      assert.ok(result.tokens.every((t) => t.start >= body), 'nothing in the front matter');
      const once = result.tokens.find((t) => fileText.slice(t.start, t.end) === 'Once');
      assert.ok(once, 'the first word of the prompt is placed on itself');
    } finally {
      await backend.dispose();
    }
  });
});
