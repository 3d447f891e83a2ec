import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../../src/core/engine/runFolder';
import type { Proposal } from '../../../src/core/engine/types';
import { applyChanges, planApply } from '../../../src/core/optimizer/apply';
import { runApply } from '../../../src/cli/commands/apply';

const A0 = 'Report about {{task.a}}.\n';
const A1 = 'Report about {{task.a}}.\nName every animal.\n';
const A2 = 'Report about {{task.a}}.\nName every animal and its colour.\n';
const S0 = 'Tell a story.\n';
const S1 = 'Tell a short story.\n';

type Files = { a: string; s: string };
type ProposalSpec = Pick<Proposal, 'step' | 'changes'> & Partial<Proposal>;

/** Prompt files a.chord.md and s.chord.md, and a run folder holding the proposals made from them. */
function runWithProposals(make: (f: Files) => ProposalSpec[]) {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-apply-'));
  const files = { a: join(dir, 'a.chord.md'), s: join(dir, 's.chord.md') };
  writeFileSync(files.a, A0);
  writeFileSync(files.s, S0);
  const folder = RunFolder.create(dir, {
    systemFile: join(dir, 'agentchord.yaml'),
    kind: 'optimize',
    status: 'completed',
    dataset: { split: 'train', file: 'x', samples: 1 },
    attribution: { strategy: 'mean_l1_norm', topK: 1, surrogate: false },
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  });
  for (const p of make(files)) folder.writeProposal({ runId: folder.id, optimizer: 'warnings', reasoning: 'r', trajectories: [], ...p });
  return { run: folder.dir, ...files };
}

const change = (file: string, agent: string, before: string, after: string) => ({ agent, file, before, after, warnings: [] });

/** Captures output; `answer` is what the person types at the prompt (undefined: not a terminal). */
function fakeIO(answer?: boolean) {
  let text = '';
  const asked: string[] = [];
  const io = {
    out: (t: string) => void (text += t),
    confirm: answer === undefined ? undefined : async (q: string) => (asked.push(q), answer),
  };
  return { io, text: () => text, asked };
}

const read = (f: string) => readFileSync(f, 'utf8');

describe('apply', () => {
  test('shows a unified diff and writes only after confirmation', async () => {
    const { run, a } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1)] }]);
    const declined = fakeIO(false);
    assert.equal(await runApply([run], declined.io), 1);
    assert.match(declined.text(), /^--- .*a\.chord\.md\tcurrent\n\+\+\+ .*a\.chord\.md\tproposed\n@@ .* @@\n Report about \{\{task\.a\}\}\.\n\+Name every animal\.\n/m);
    assert.equal(declined.asked.length, 1);
    assert.equal(read(a), A0, 'declined: untouched');

    await assert.rejects(runApply([run], fakeIO().io), /pass --yes/);
    assert.equal(read(a), A0, 'no terminal and no --yes: untouched');

    const accepted = fakeIO(true);
    assert.equal(await runApply([run], accepted.io), 0);
    assert.equal(read(a), A1);
    assert.match(accepted.text(), /wrote .*a\.chord\.md/);
  });

  test('--yes writes without asking; the default applies kept proposals cumulatively and skips rejected ones', async () => {
    const { run, a, s } = runWithProposals((f) => [
      { step: 0, changes: [change(f.a, 'reporterA', A0, A1)], accepted: true },
      { step: 1, changes: [change(f.s, 'storyteller', S0, 'WORSE\n')], accepted: false },
      { step: 2, changes: [change(f.a, 'reporterA', A1, A2), change(f.s, 'storyteller', S0, S1)] },
    ]);
    const plan = planApply(run);
    assert.deepEqual(plan.steps, [0, 2]);
    assert.deepEqual(plan.changes.map((c) => [c.agent, c.before, c.after]), [
      ['reporterA', A0, A2],
      ['storyteller', S0, S1],
    ]);
    assert.match(plan.notes[0], /left out step 1: rejected/);
    const out = fakeIO();
    assert.equal(await runApply([run, '--yes'], out.io), 0);
    assert.equal(read(a), A2);
    assert.equal(read(s), S1);
    assert.equal(planApply(run, 1).changes[0].after, 'WORSE\n', '--step picks one proposal, even a rejected one');
  });

  test('refuses when a prompt file changed since the proposal, writing nothing', async () => {
    const { run, a, s } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1), change(f.s, 'storyteller', S0, S1)] }]);
    writeFileSync(s, 'Edited by hand.\n');
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), /s\.chord\.md changed since the proposal was made; nothing was written/);
    assert.equal(read(a), A0);
    assert.equal(read(s), 'Edited by hand.\n');
  });

  test('a failed write leaves that file intact and puts back the ones already written', async () => {
    const { run, a, s } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1), change(f.s, 'storyteller', S0, S1)] }]);
    const { changes } = planApply(run);
    let writes = 0;
    await assert.rejects(
      applyChanges(changes, {
        write: async (file, text) => {
          if (++writes === 2) throw new Error('ENOSPC: no space left on device');
          writeFileSync(file, text);
        },
      }),
      /could not write .*s\.chord\.md \(ENOSPC: no space left on device\); it is unchanged; .*a\.chord\.md put back as before/,
    );
    assert.equal(read(a), A0);
    assert.equal(read(s), S0);
  });

  test('usage errors name the option', async () => {
    await assert.rejects(runApply([], fakeIO().io), /expected one run folder/);
    await assert.rejects(runApply(['x', '--step=-1'], fakeIO().io), /--step must be an integer >= 0/);
    await assert.rejects(runApply(['/nonexistent/run'], fakeIO().io), /not a run folder/);
  });
});
