/**
 * `agentchord import <trace-file>...`: a recorded trace export → a run folder (and with --scaffold a workspace), for
 * `blame`, `report` and the editor. The rules are in src/core/trace/reconstruct.ts and docs/import-traces.md.
 */
import { relative, isAbsolute } from 'node:path';
import { importTrace, type ImportTraceResult } from '../../core/trace/importTrace';
import { TraceError } from '../../core/trace/types';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { embeddedModelDir } from '../embeddedModels';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord import <trace-file>... [--out <run-dir>] [--format auto|otlp-json|openinference]
                         [--map <mapping.yaml>] [--scaffold <dir> [--loss <verdicts.jsonl>] [--model <dir>]] [--json]

Reads a recorded trace export and writes a run folder like the ones \`agentchord run\` writes, marked as imported
(source files and their SHA-256 in run.json). Each LLM call span becomes a call of the agent that encloses it; its
input is split into blocks by provenance (a passage equal to an earlier call's output is a block from that agent,
tool messages are tool blocks, the rest is task text). Then: agentchord blame <run-dir> --loss <verdicts>.

  <trace-file>...    OTLP/JSON (an ExportTraceServiceRequest per file or per line, as the Collector's file exporter
                     and OTLP/HTTP JSON write them; log records with GenAI message events may be in the same file or
                     another one) or OpenInference span exports (Phoenix, one span per line)
  --out <run-dir>    the run folder to create (default: .agentchord/runs/<new id> in the scaffold or current folder)
  --format <f>       auto (default), otlp-json or openinference
  --map <file>       agent names and explicit hand-offs (YAML or JSON; see docs/import-traces.md)
  --scaffold <dir>   also write a workspace there: agentchord.yaml (agents replay the trace), one prompt file per
                     agent, the traces as data; the run goes into <dir>/.agentchord/runs
  --loss <file>      with --scaffold: verdicts {traceId, loss, score} written into the scaffold's data
  --model <dir>      with --scaffold: its attribution model (default: the embedded chord-retrieval)
  --json             print the result as JSON

Exit status: 0 imported, 2 bad input (the message names the file and line or span).`;

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function formatImport(r: ImportTraceResult): string {
  const lines = [`imported ${r.traces.length} trace(s), ${r.traces.reduce((a, t) => a + t.calls, 0)} call(s) -> ${shown(r.runDir)}`];
  lines.push(`agents: ${r.agents.join(', ')}`);
  lines.push(r.edges.length ? `hand-offs found: ${r.edges.map((e) => `${e.from} -> ${e.to} (${e.blocks} block${e.blocks === 1 ? '' : 's'})`).join(', ')}` : 'hand-offs found: none (see docs/import-traces.md for --map links)');
  for (const w of r.warnings.slice(0, 10)) lines.push(`warning: ${w}`);
  if (r.warnings.length > 10) lines.push(`warning: ... and ${r.warnings.length - 10} more`);
  if (r.scaffold) lines.push(`workspace: ${shown(r.scaffold.systemFile)} (${r.scaffold.files.length} files)`);
  lines.push(`next: agentchord blame ${shown(r.runDir)} --loss <verdicts.jsonl>`);
  return lines.join('\n');
}

export const importCommand: Command = {
  name: 'import',
  summary: 'read a recorded trace (OTLP/JSON, OpenInference) into a run folder, optionally with a workspace',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseOptions('import', {
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        format: { type: 'string', default: 'auto' },
        map: { type: 'string' },
        scaffold: { type: 'string' },
        loss: { type: 'string' },
        model: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length === 0) throw new CliError("import: expected a trace file (see 'agentchord import --help')");
    const format = values.format;
    if (format !== 'auto' && format !== 'otlp-json' && format !== 'openinference') throw new CliError(`import: --format: expected auto, otlp-json or openinference, got '${format}'`);
    if ((values.loss || values.model) && !values.scaffold) throw new CliError('import: --loss and --model go with --scaffold (for blame: agentchord blame <run> --loss <file>)');
    const controller = new AbortController();
    const cancel = () => controller.abort(new Error('cancelled'));
    process.once('SIGINT', cancel);
    try {
      const result = await importTrace({
        files: positionals,
        format,
        out: values.out,
        mapping: values.map,
        scaffold: values.scaffold,
        verdicts: values.loss,
        attributionModel: values.scaffold ? (values.model ? values.model : embeddedModelDir('chord-retrieval')) : undefined,
        signal: controller.signal,
      });
      process.stdout.write((values.json ? JSON.stringify(result, null, 2) : formatImport(result)) + '\n');
      return 0;
    } catch (err) {
      if (err instanceof TraceError) throw new CliError(`import: ${err.message}`);
      throw err;
    } finally {
      process.removeListener('SIGINT', cancel);
    }
  },
};
