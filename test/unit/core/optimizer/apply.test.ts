import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../../../src/core/engine/runFolder';
import type { Proposal } from '../../../../src/core/engine/types';
import { applyChanges, planApply, refusedChanges } from '../../../../src/core/optimizer/apply';
import { runApply } from '../../../../src/cli/commands/apply';
import { bareManifest } from '../engine/helpers';

const A0 = 'Report about {{task.a}}.\n';
const A1 = 'Report about {{task.a}}.\nName every animal.\n';
const A2 = 'Report about {{task.a}}.\nName every animal and its colour.\n';
const S0 = 'Tell a story.\n';
const S1 = 'Tell a short story.\n';

type Files = { a: string; s: string; f: string };
type ProposalSpec = Pick<Proposal, 'step' | 'changes'> & Partial<Proposal>;

/** The system the runs belong to: reporterA (a.chord.md) -> storyteller (s.chord.md), plus a frozen agent. */
const SYSTEM = (frozenOptimize: boolean) => [
  'version: 1',
  'models: { r: { provider: replay } }',
  'agents:',
  '  reporterA: { prompt: a.chord.md, model: r, inputs: [task.a] }',
  `  fixed: { prompt: f.chord.md, model: r, inputs: [reporterA], optimize: ${frozenOptimize} }`,
  '  storyteller: { prompt: s.chord.md, model: r, inputs: [reporterA, fixed] }',
  'output: storyteller',
  '',
].join('\n');
const F0 = 'Keep <DONT_CHANGE>this exact line</DONT_CHANGE> as it is.\n';

/**
 * Prompt files a.chord.md, s.chord.md and f.chord.md, their system file, and a run folder holding the proposals made
 * from them. `fixedOptimize`: the `optimize` value of agent 'fixed'.
 */
function runWithProposals(make: (f: Files) => ProposalSpec[], fixedOptimize = true) {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-apply-'));
  const files = { a: join(dir, 'a.chord.md'), s: join(dir, 's.chord.md'), f: join(dir, 'f.chord.md') };
  writeFileSync(files.a, A0);
  writeFileSync(files.s, S0);
  writeFileSync(files.f, F0);
  writeFileSync(join(dir, 'agentchord.yaml'), SYSTEM(fixedOptimize));
  const folder = RunFolder.create(dir, bareManifest(dir, 'optimize', 'completed'));
  for (const p of make(files)) folder.writeProposal({ runId: folder.id, optimizer: 'warnings', reasoning: 'r', trajectories: [], ...p });
  return { run: folder.dir, dir, ...files };
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

  test('a forged proposal naming a file outside the workspace is refused before any diff, writing nothing', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'agentchord-victim-'));
    const victim = join(elsewhere, 'notes.txt');
    writeFileSync(victim, 'mine\n');
    for (const agent of ['reporterA', 'nobody']) {
      const { run } = runWithProposals(() => [{ step: 0, changes: [change(victim, agent, 'mine\n', 'mine\nappended\n')] }]);
      const out = fakeIO(true);
      await assert.rejects(runApply([run, '--yes'], out.io), agent === 'nobody' ? /'nobody' is not an agent of .*agentchord\.yaml/ : /notes\.txt is not the prompt file of agent 'reporterA'/);
      assert.equal(out.text(), '', 'no diff is shown for a change that is refused');
      assert.equal(read(victim), 'mine\n');
      // The core refuses too, whoever calls it.
      await assert.rejects(applyChanges(planApply(run).changes, { runDir: run }), /nothing was written/);
      assert.equal(read(victim), 'mine\n');
    }
  });

  test("a run folder outside its system's folder, or a system file that does not load, is refused", async () => {
    const { run, a, dir } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1)] }]);
    const forged = mkdtempSync(join(tmpdir(), 'agentchord-forged-run-'));
    writeFileSync(join(forged, 'run.json'), readFileSync(join(run, 'run.json')));
    mkdirSync(join(forged, 'proposals'));
    writeFileSync(join(forged, 'proposals', 'step-0.json'), readFileSync(join(run, 'proposals', 'step-0.json')));
    await assert.rejects(runApply([forged, '--yes'], fakeIO().io), /is not inside the folder of its system file/);
    writeFileSync(join(dir, 'agentchord.yaml'), 'version: 1\n');
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), /system file .*agentchord\.yaml does not load/);
    assert.equal(read(a), A0);
  });

  test("an agent with optimize: false is never written", async () => {
    const { run, f } = runWithProposals((p) => [{ step: 0, changes: [change(p.f, 'fixed', F0, F0 + 'More.\n')] }], false);
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), /agent 'fixed' says 'optimize: false'/);
    assert.equal(read(f), F0);
  });

  test('a change to a frozen region is refused', async () => {
    const { run, f } = runWithProposals((p) => [{ step: 0, changes: [change(p.f, 'fixed', F0, F0.replace('exact', 'edited'))] }]);
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), /would alter its frozen region\(s\) "<DONT_CHANGE>this exact line<\/DONT_CHANGE>"/);
    assert.equal(read(f), F0);
  });

  test('a symlinked prompt file is written through the link; a link pointing out of the folder is refused', async () => {
    const { run, a, dir } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1)] }]);
    const real = join(dir, 'shared', 'a.md');
    mkdirSync(join(dir, 'shared'));
    writeFileSync(real, A0);
    unlinkSync(a);
    symlinkSync(real, a);
    assert.equal(await runApply([run, '--yes'], fakeIO().io), 0);
    assert.ok(lstatSync(a).isSymbolicLink(), 'the link is still a link');
    assert.equal(readlinkSync(a), real);
    assert.equal(read(real), A1);

    const outside = join(mkdtempSync(join(tmpdir(), 'agentchord-outside-')), 'a.md');
    writeFileSync(outside, A0);
    unlinkSync(a);
    symlinkSync(outside, a);
    assert.deepEqual(refusedChanges(run, [change(a, 'reporterA', A0, A1)]).map((r) => /outside the system's folder/.test(r)), [true]);
  });

  test('a damaged proposal file is an error naming it', async () => {
    const { run } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1)] }]);
    const file = join(run, 'proposals', 'step-1.json');
    writeFileSync(file, '{"step": 1, "changes": [');
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), (err: Error) => err.message.includes(`${file}: damaged proposal file, not valid JSON`));
    writeFileSync(file, JSON.stringify({ step: 1, changes: [{ agent: 'reporterA', file: 5 }] }));
    await assert.rejects(runApply([run, '--yes'], fakeIO().io), (err: Error) => err.message.includes(`${file}: damaged proposal file (a change lacks`));
  });

  test('a stale file is refused before its diff is printed', async () => {
    const { run, a } = runWithProposals((f) => [{ step: 0, changes: [change(f.a, 'reporterA', A0, A1)] }]);
    writeFileSync(a, 'Edited by hand.\n');
    const out = fakeIO(true);
    await assert.rejects(runApply([run], out.io), /a\.chord\.md changed since the proposal was made/);
    assert.equal(out.text(), '', 'no diff of a change that cannot be applied');
    assert.equal(read(a), 'Edited by hand.\n');
  });

  test('usage errors name the option', async () => {
    await assert.rejects(runApply([], fakeIO().io), /expected one run folder/);
    await assert.rejects(runApply(['x', '--step=-1'], fakeIO().io), /--step must be an integer >= 0/);
    await assert.rejects(runApply(['/nonexistent/run'], fakeIO().io), /not a run folder/);
  });
});
