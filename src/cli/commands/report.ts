/**
 * `agentchord report <run> [--json] [--html <file>]`: per-agent blame, connection weights and trajectories of a run;
 * with --html, also the self-contained HTML report (graphs and token heat maps), written atomically.
 */
import { resolve } from 'node:path';
import { RunFolder } from '../../core/engine/runFolder';
import { formatSummary, renderHtmlReport, summarizeRun } from '../../core/report';
import { writeFileAtomic } from '../../shared/atomicWrite';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord report <run> [--json] [--html <file> [--compare <other-run>]] [--note <text>]...

Prints what a run found: blame per agent (share of trajectories through it), the connection weights of every
attributed call (* = kept in the top-k attribution graph), the trajectories and the proposals.

  run            the run folder (.agentchord/runs/<id>)
  --json         print the summary as JSON
  --html <file>  also write the self-contained HTML report (attribution graphs, token heat maps)
  --note <text>  a caveat to show at the top of the HTML report (repeatable)
  --compare <r>  with --html: a section comparing this run with run folder r (as agentchord compare r <run>)`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'print a run\'s blame, connection weights and trajectories; --html writes the HTML report',
  help: HELP,
  run: (args) => runReport(args, (text) => void process.stdout.write(text)),
};

/** The command, printing through `out` (tests capture it). */
export async function runReport(args: string[], out: (text: string) => void): Promise<number> {
  const parsed = parseOptions('report', {
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, html: { type: 'string' }, note: { type: 'string', multiple: true }, compare: { type: 'string' } },
  });
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError('report: expected one run folder (see \'agentchord report --help\')');
  let contents;
  try {
    contents = RunFolder.open(resolve(positionals[0])).read();
  } catch (err) {
    throw new CliError(`report: ${(err as Error).message}`, 1);
  }
  if (values.compare && !values.html) throw new CliError('report: --compare goes with --html <file> (for text: agentchord compare <a> <b>)');
  const summary = summarizeRun(contents);
  let htmlFile: string | undefined;
  if (values.html) {
    htmlFile = resolve(values.html);
    let compareWith;
    if (values.compare) {
      try {
        compareWith = RunFolder.open(resolve(values.compare)).read();
      } catch (err) {
        throw new CliError(`report: --compare: ${(err as Error).message}`);
      }
    }
    const html = await renderHtmlReport(contents, { notes: values.note ?? [], ...(compareWith ? { compareWith } : {}) });
    await writeFileAtomic(htmlFile, html, { createDirs: true });
  }
  if (values.json) out(JSON.stringify({ ...summary, ...(htmlFile ? { html: htmlFile } : {}) }, null, 2) + '\n');
  else {
    out(formatSummary(summary) + '\n');
    if (htmlFile) out(`\nHTML report: ${htmlFile}\n`);
  }
  return 0;
}
