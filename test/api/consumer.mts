// A program written against the public entry point only, as a user's CI script would be: type-checked by the static
// layer against dist/types (tsc -p test/api), run by test/unit/api/publicApi.test.ts (consumer.cjs is its runtime twin).
import { blame, importTrace, readRun, summarizeRun, TraceError, type AgentBlame, type ImportTraceResult, type RunManifest, type VerdictSource } from 'agentchord/api';

export async function main(trace: string, verdicts: string, model: string, out: string): Promise<{ blame: AgentBlame[]; manifest: RunManifest }> {
  let imported: ImportTraceResult;
  try {
    imported = await importTrace({ files: [trace], out });
  } catch (err) {
    if (err instanceof TraceError) throw new Error(`bad trace: ${err.message}`);
    throw err;
  }
  const source: VerdictSource = { kind: 'loss-file', file: verdicts };
  const result = await blame(imported.runDir, { model, device: 'cpu', verdicts: source });
  const summary = summarizeRun(imported.runDir);
  if (summary.blame.length !== result.blame.length) throw new Error('summary and result disagree');
  return { blame: result.blame, manifest: readRun(imported.runDir).manifest };
}
