/**
 * The parsed YAML of a system file with its positions: every later check reports at the YAML node it is about, so
 * this module turns nodes and JSON-pointer-like paths into 1-based line/column ranges.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import type { Problem, SourceRange } from './types';

/** One step into the data: a map key or a list index. */
export type PathSegment = string | number;

/** The key and value nodes at a path (the key is absent for list items and the document root). */
export interface Located {
  key?: Node;
  value?: Node;
}

export class YamlSource {
  /** Per mapping, its pairs by key (the last one where a key repeats), built on first use: `locate` stays O(depth). */
  private readonly pairIndex = new WeakMap<object, Map<string, Pair<Node, Node>>>();

  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    // uniqueKeys off: duplicate keys are reported by `duplicateKeyProblems` with a message that says where the first
    // one is, rather than yaml's generic "Map keys must be unique".
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
    return new YamlSource(file, doc, lines, text);
  }

  /** 1-based range of [start, end) character offsets, without trailing whitespace (block nodes end on the next line). */
  rangeOfOffsets(start: number, end: number): SourceRange {
    while (end > start + 1 && /\s/.test(this.text[end - 1])) end--;
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }

  /** Range of a node's value (without trailing comments); 1:1 when the node has no position. */
  rangeOf(node: Node | undefined | null): SourceRange {
    const r = node?.range;
    if (!r) return { line: 1, column: 1, endLine: 1, endColumn: 1 };
    return this.rangeOfOffsets(r[0], r[1]);
  }

  /** Range from the start of a key to the end of its value: a whole `name: {...}` entry. */
  rangeOfEntry(key: Node | undefined, value: Node | undefined): SourceRange {
    const start = key?.range?.[0] ?? value?.range?.[0];
    const end = value?.range?.[1] ?? key?.range?.[1];
    if (start === undefined || end === undefined) return this.rangeOf(undefined);
    return this.rangeOfOffsets(start, end);
  }

  problem(node: Node | undefined | null, message: string, severity: Problem['severity'] = 'error'): Problem {
    return { file: this.file, ...this.rangeOf(node), message, severity };
  }

  /**
   * The nodes at a path like ['agents', 'manager', 'inputs', 2]. Where a key appears twice, the last one wins, as in
   * the loaded data. Stops at the deepest node found, so a problem still lands near its cause.
   */
  locate(path: readonly PathSegment[]): Located {
    let found: Located = { value: this.doc.contents ?? undefined };
    for (const segment of path) {
      const node = this.resolveAlias(found.value);
      if (isMap(node)) {
        const pair = this.pairOf(node, String(segment));
        if (!pair) return found;
        found = { key: pair.key, value: pair.value ?? pair.key };
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)] as Node | undefined;
        if (!item) return found;
        found = { value: item };
      } else {
        return found;
      }
    }
    return found;
  }

  /** The node a problem about `path` should underline: the key when there is one (for whole-entry problems). */
  keyOrValue(path: readonly PathSegment[]): Node | undefined {
    const { key, value } = this.locate(path);
    return key ?? value;
  }

  /** YAML syntax errors and warnings (bad indentation, unclosed brackets, tabs, unknown tags, unresolved aliases). */
  syntaxProblems(): Problem[] {
    const problems: Problem[] = [];
    for (const e of this.doc.errors) {
      // yaml's own wording here addresses programmers ("use parseAllDocuments()").
      const message = e.code === 'MULTIPLE_DOCS' ? "a system file holds one YAML document: remove the second '---'" : e.message;
      problems.push(this.yamlErrorProblem(e.pos, message, 'error'));
    }
    for (const w of this.doc.warnings) problems.push(this.yamlErrorProblem(w.pos, w.message, 'warning'));
    visit(this.doc, {
      Alias: (_key, alias) => {
        if (!alias.resolve(this.doc)) {
          problems.push(this.problem(alias, `unknown alias '*${alias.source}' (no anchor '&${alias.source}' before it)`));
        }
      },
    });
    return problems;
  }

  /**
   * Keys defined twice in one mapping. `labels` names what the keys of some mappings are (e.g. agents), so the
   * message can say "duplicate agent 'x'" instead of "duplicate key 'x'".
   */
  duplicateKeyProblems(labels: ReadonlyMap<string, string>): Problem[] {
    const problems: Problem[] = [];
    const walk = (node: unknown, path: string) => {
      if (isMap(node)) {
        const label = labels.get(path) ?? 'key';
        const firstLine = new Map<string, number>();
        for (const pair of node.items as Pair<Node, Node>[]) {
          const name = keyText(pair.key);
          if (name === undefined) continue;
          const seenAt = firstLine.get(name);
          if (seenAt !== undefined) {
            problems.push(this.problem(pair.key, `duplicate ${label} '${name}' (first defined at line ${seenAt})`));
          } else {
            firstLine.set(name, this.rangeOf(pair.key).line);
          }
          walk(pair.value, path ? `${path}.${name}` : name);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item) => walk(item, `${path}[]`));
      }
    };
    walk(this.doc.contents, '');
    return problems;
  }

  /**
   * The data as plain JS. Call only when `syntaxProblems()` has no errors. Throws on an alias bomb (more than 1000
   * alias expansions).
   */
  toData(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** A file with thousands of agents is located into once per agent and per input: index each mapping's keys once. */
  private pairOf(map: object & { items: unknown[] }, key: string): Pair<Node, Node> | undefined {
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items as Pair<Node, Node>[]) {
        const name = keyText(pair.key);
        if (name !== undefined) index.set(name, pair); // later pairs overwrite: the last one wins, as in the data
      }
      this.pairIndex.set(map, index);
    }
    return index.get(key);
  }

  private resolveAlias(node: Node | undefined): Node | undefined {
    return isAlias(node) ? (node.resolve(this.doc) ?? undefined) : node;
  }

  private yamlErrorProblem(pos: [number, number], message: string, severity: Problem['severity']): Problem {
    return { file: this.file, ...this.rangeOfOffsets(pos[0], pos[1]), message: `YAML: ${message}`, severity };
  }
}

function keyText(key: Node | null | undefined): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}
