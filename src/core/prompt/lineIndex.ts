import type { PromptRange } from './types';

/**
 * Turns 0-based offsets into 1-based line/column positions (columns in UTF-16 code units, as VS Code counts).
 * Hand-written (a few lines) because yaml's LineCounter only sees the front matter, not the whole file.
 */
export class LineIndex {
  /** Offset where each line starts; line 1 starts at 0. */
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    // Binary search for the last line starting at or before the offset.
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.lineStarts[low] + 1 };
  }

  range(start: number, end: number): PromptRange {
    const from = this.position(start);
    const to = this.position(end);
    return { start, end, line: from.line, column: from.column, endLine: to.line, endColumn: to.column };
  }
}
