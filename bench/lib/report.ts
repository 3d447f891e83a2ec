/** What each benchmark returns, and how the runner prints it (a readable table, then one JSON line). */

export interface BenchResult {
  name: string;
  title: string;
  /** Human-readable rows: [what, value]. */
  rows: Array<[string, string]>;
  /** Machine-readable numbers (null where a side could not run). */
  metrics: Record<string, number | string | null>;
  /** Why something was not measured, or what to keep in mind reading the numbers. */
  notes: string[];
}

export const fmt = {
  s: (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)} s`),
  mib: (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)} MiB`),
  ratio: (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)}x`),
  rate: (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} tok/s`),
  sci: (x: number | undefined) => (x === undefined ? 'n/a' : x.toExponential(2)),
};

/** a / b, or undefined when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}

export function printTable(result: BenchResult): void {
  const width = Math.max(...result.rows.map(([k]) => k.length), 10);
  const lines = [`\n== ${result.title} ==`];
  for (const [k, v] of result.rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  for (const n of result.notes) lines.push(`  note: ${n}`);
  process.stdout.write(lines.join('\n') + '\n');
}
