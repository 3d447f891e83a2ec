/**
 * How an agent's input blocks are laid out in the user message it receives (documented in docs/forward-run.md).
 *
 * Each block is wrapped in an XML-ish element that names its source, and blocks are separated by a blank line:
 *
 *   <block source="task.question">
 *   How many legs do 3 spiders have?
 *   </block>
 *
 *   <block source="agent:planner">
 *   Multiply 3 by 8.
 *   </block>
 *
 * Tags rather than Markdown headings because block contents (agent outputs) often contain headings of their own;
 * a closing tag makes the end of a block unambiguous for the model. The block map records [charStart, charEnd) of
 * each block's CONTENT (between the newline after the opening tag and the newline before the closing tag), so
 * `renderedInput.slice(charStart, charEnd)` is exactly the predecessor output, task field or tool result.
 *
 * An agent with `input: { format: lines }` (a model trained on a fixed format, such as models/chord-retrieval) gets
 * one line per block instead, written with its template, e.g. `Planner: Lucy has a red ball.`, the lines joined by
 * its separator (renderLines). There the block is the WHOLE line, label included: the model reads the label as part
 * of the block, and the line is what its attribution weighs.
 */
import type { BlockSource, InputBlock, ToolCallRecord } from './types';

export interface BlockSpec {
  id: string;
  /** What the opening tag names (`source="..."`). */
  label: string;
  /** The source's name in `lines` format ({{label}}): an agent's `label`, a task field's name, a tool's name. */
  displayName: string;
  source: BlockSource;
  content: string;
}

/** The blocks rendered into one text, with each block's content located in it. */
export interface RenderedBlocks {
  text: string;
  blocks: InputBlock[];
}

/** Escapes what would break the attribute value of the opening tag. */
function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Appends blocks to `base` (which may already hold blocks), separated by blank lines. */
export function appendBlocks(base: RenderedBlocks, specs: BlockSpec[]): RenderedBlocks {
  let text = base.text;
  const blocks = [...base.blocks];
  const taken = new Set(blocks.map((b) => b.id));
  for (const spec of specs) {
    // Ids must be unique within a call (they key the weights); some endpoints reuse tool-call ids across steps.
    let id = spec.id;
    for (let n = 2; taken.has(id); n++) id = `${spec.id}#${n}`;
    taken.add(id);
    if (text.length) text += '\n\n';
    text += `<block source="${attribute(spec.label)}">\n`;
    const charStart = text.length;
    text += spec.content;
    const charEnd = text.length;
    text += '\n</block>';
    blocks.push({ id, label: spec.label, source: spec.source, charStart, charEnd });
  }
  return { text, blocks };
}

export function renderBlocks(specs: BlockSpec[]): RenderedBlocks {
  return appendBlocks({ text: '', blocks: [] }, specs);
}

/**
 * `lines` format: each block as one line of `template` ({{label}} -> displayName, {{content}} -> content), lines
 * joined by `separator`. Each block's range is its whole line. Content is inserted literally (a `{{x}}` inside it
 * is not replaced again).
 */
export function renderLines(specs: BlockSpec[], template: string, separator: string): RenderedBlocks {
  let text = '';
  const blocks: InputBlock[] = [];
  specs.forEach((spec, k) => {
    if (k > 0) text += separator;
    const charStart = text.length;
    text += template.replace(/\{\{(label|content)\}\}/g, (_, name: string) => (name === 'label' ? spec.displayName : spec.content));
    blocks.push({ id: spec.id, label: spec.label, source: spec.source, charStart, charEnd: text.length });
  });
  return { text, blocks };
}

/** The same blocks inside a larger text that starts `offset` characters before them. */
export function shiftBlocks(rendered: RenderedBlocks, text: string, offset: number): RenderedBlocks {
  return { text, blocks: rendered.blocks.map((b) => ({ ...b, charStart: b.charStart + offset, charEnd: b.charEnd + offset })) };
}

/** A task field as block text: strings as they are, anything else as pretty JSON. */
export function fieldText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? String(value);
}

export function taskBlock(field: string, value: unknown): BlockSpec {
  return { id: `task.${field}`, label: `task.${field}`, displayName: field, source: { kind: 'task', field }, content: fieldText(value) };
}

/** @param displayName the agent's `label` (default: its name), used by the `lines` format. */
export function agentBlock(agent: string, callId: string, output: string, displayName: string = agent): BlockSpec {
  return { id: `agent:${agent}`, label: `agent:${agent}`, displayName, source: { kind: 'agent', agent, callId }, content: output };
}

/** A tool result as a block of the next tool-loop step (an error result is the `{"error": ...}` the model saw). */
export function toolBlock(record: ToolCallRecord, callId: string): BlockSpec {
  return {
    id: `tool:${record.id}`,
    label: `tool:${record.name} ${record.id}`,
    displayName: record.name,
    source: { kind: 'tool', tool: record.name, toolCallId: record.id, callId },
    content: record.result,
  };
}

/**
 * The text a call is attributed for (the teacher-forced target): the answer, or for a step that only called tools,
 * the calls written as `name(arguments)` one per line (what the model produced instead of text).
 */
export function attributedOutput(call: { output: string; toolCalls: ToolCallRecord[] }): string {
  if (call.output) return call.output;
  return call.toolCalls.map((c) => `${c.name}(${c.arguments})`).join('\n');
}
