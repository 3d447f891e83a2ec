/** A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay clean). */

export interface ProgressLine {
  update(text: string, done?: number, total?: number): void;
  /** Clears the line (call before printing anything else). */
  clear(): void;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!stream.isTTY) return { update: () => undefined, clear: () => undefined };
  let shown = false;
  return {
    update(text, done, total) {
      const width = Math.max(20, (stream.columns || 80) - 1);
      const bar = done !== undefined && total ? `[${'#'.repeat(Math.round((done / total) * 20)).padEnd(20, '-')}] ${done}/${total} ` : '';
      stream.write(`\r${(bar + text).slice(0, width).padEnd(width)}`);
      shown = true;
    },
    clear() {
      if (shown) stream.write(`\r${' '.repeat(Math.max(20, (stream.columns || 80) - 1))}\r`);
      shown = false;
    },
  };
}
