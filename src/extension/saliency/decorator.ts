import * as vscode from 'vscode';
import { aggregate, bucketize, BUCKETS, GRANULARITIES, type Granularity, type PlacedSpan, type SalientToken } from '../pure/saliency/aggregate';
import { GRANULARITY_SETTING } from '../pure/saliency/commands';

/** What one document shows: its tokens, and per granularity the spans computed once (sorted by start) and bucketed. */
interface DocumentSaliency {
  text: string;
  tokens: SalientToken[];
  /** Shown in the hover, e.g. "call s0:lily-ball/t0/storyteller/s0" or "prompt, sample s0:lily-ball". */
  source: string;
  byGranularity: Map<Granularity, { spans: PlacedSpan[]; ranges: vscode.Range[][] }>;
}

/** What was last drawn in a document (for the tests): granularity and the ranges of each colour bucket. */
export interface AppliedSaliency {
  granularity: Granularity;
  ranges: vscode.Range[][];
}

/**
 * Draws token saliency as background colours: BUCKETS decoration types created once (a decoration type is costly),
 * spans and ranges computed once per document and granularity, one setDecorations per bucket. The hover is looked
 * up by position (binary search) rather than attached to each of thousands of ranges.
 */
export class SaliencyDecorator implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[];
  private readonly docs = new Map<string, DocumentSaliency>();
  /** Document URI -> what was last drawn there. */
  readonly lastApplied = new Map<string, AppliedSaliency>();

  constructor() {
    this.types = Array.from({ length: BUCKETS }, (_, b) =>
      vscode.window.createTextEditorDecorationType({
        // Warm background, stronger with saliency; the lowest bucket is barely visible on purpose.
        backgroundColor: `rgba(255, 120, 0, ${(0.06 + (0.5 * b) / (BUCKETS - 1)).toFixed(2)})`,
        ...(b === BUCKETS - 1 ? { overviewRulerColor: 'rgba(255, 120, 0, 0.8)', overviewRulerLane: vscode.OverviewRulerLane.Right } : {}),
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
    );
  }

  granularity(): Granularity {
    const value = vscode.workspace.getConfiguration().get<string>(GRANULARITY_SETTING, 'token');
    return (GRANULARITIES as readonly string[]).includes(value) ? (value as Granularity) : 'token';
  }

  has(uri: vscode.Uri): boolean {
    return this.docs.has(uri.toString());
  }

  /** Sets a document's saliency and draws it in its visible editors. */
  set(uri: vscode.Uri, text: string, tokens: SalientToken[], source: string): void {
    this.docs.set(uri.toString(), { text, tokens, source, byGranularity: new Map() });
    this.applyVisible(uri);
  }

  /** Removes a document's saliency (e.g. the prompt file was edited: the offsets no longer hold). */
  clear(uri: vscode.Uri): void {
    const key = uri.toString();
    if (!this.docs.delete(key)) return;
    this.lastApplied.delete(key);
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === key) for (const t of this.types) editor.setDecorations(t, []);
    }
  }

  /** Draws in every visible editor of `uri` (all documents with saliency when omitted). */
  applyVisible(uri?: vscode.Uri): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (!uri || editor.document.uri.toString() === uri.toString()) this.apply(editor);
    }
  }

  apply(editor: vscode.TextEditor): void {
    const key = editor.document.uri.toString();
    const prepared = this.prepared(key, this.granularity());
    if (!prepared) return;
    this.types.forEach((type, b) => editor.setDecorations(type, prepared.ranges[b]));
    this.lastApplied.set(key, { granularity: this.granularity(), ranges: prepared.ranges });
  }

  /** The hover for a position of a document with saliency: the span's L1, g·e and block. */
  hover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const doc = this.docs.get(document.uri.toString());
    const prepared = this.prepared(document.uri.toString(), this.granularity());
    if (!doc || !prepared) return undefined;
    const offset = document.offsetAt(position);
    const spans = prepared.spans;
    let lo = 0;
    let hi = spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid].end <= offset) lo = mid + 1;
      else if (spans[mid].start > offset) hi = mid - 1;
      else return new vscode.Hover(hoverText(spans[mid], doc.source), new vscode.Range(position.with(spans[mid].from.line, spans[mid].from.character), position.with(spans[mid].to.line, spans[mid].to.character)));
    }
    return undefined;
  }

  private prepared(key: string, granularity: Granularity): { spans: PlacedSpan[]; ranges: vscode.Range[][] } | undefined {
    const doc = this.docs.get(key);
    if (!doc) return undefined;
    let prepared = doc.byGranularity.get(granularity);
    if (!prepared) {
      const buckets = bucketize(aggregate(doc.tokens, doc.text, granularity), doc.text);
      const ranges = buckets.map((spans) => spans.map((s) => new vscode.Range(s.from.line, s.from.character, s.to.line, s.to.character)));
      const spans = buckets.flat().sort((a, b) => a.start - b.start);
      prepared = { spans, ranges };
      doc.byGranularity.set(granularity, prepared);
    }
    return prepared;
  }

  dispose(): void {
    for (const t of this.types) t.dispose();
    this.docs.clear();
    this.lastApplied.clear();
  }
}

function hoverText(span: PlacedSpan, source: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  const tokens = span.tokens === 1 ? '1 token' : `${span.tokens} tokens, mean`;
  md.appendMarkdown(`**AgentChord token saliency** (${tokens})\n\n`);
  md.appendMarkdown(`L1 ‖∂S/∂e‖₁: \`${span.l1.toExponential(3)}\`  \n`);
  md.appendMarkdown(`gradient·input: \`${span.gradInput.toExponential(3)}\`  \n`);
  if (span.block) md.appendMarkdown(`block: \`${span.block}\`  \n`);
  md.appendMarkdown(`pieces: `);
  md.appendCodeblock(span.pieces.length > 200 ? `${span.pieces.slice(0, 200)}…` : span.pieces, 'text');
  md.appendText(source);
  return md;
}
