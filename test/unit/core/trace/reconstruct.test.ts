// Reconstruction of agents, blocks and edges from traces recorded by real instrumentation (test/fixtures/traces,
// made by scripts/fixtures/generate-trace-fixtures.mjs; expected.json says what each program did), and from
// hand-made spans for the forms and faults no instrumentation produces on purpose.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { attributedOutput } from '../../../../src/core/engine/blocks';
import { buildAttributionGraph } from '../../../../src/core/engine/graph';
import type { AgentCall } from '../../../../src/core/engine/types';
import { parseMapping, type TraceMapping } from '../../../../src/core/trace/mapping';
import { attachLogs, readTraceFile } from '../../../../src/core/trace/readTrace';
import { collapse, reconstruct, type Reconstruction } from '../../../../src/core/trace/reconstruct';
import { TraceError } from '../../../../src/core/trace/types';
import { repoPath } from '../../repo';
import { agentSpan, exportRequest, flatLlm, traceFile, TRACE } from './otlp';

interface ExpectedCall {
  agent: string;
  system: string;
  userMessage: string;
  output: string;
  toolResults?: Array<{ id: string; content: string }>;
}
interface ExpectedTrace {
  agents: string[];
  calls: ExpectedCall[];
  handoffs: Array<{ fromAgent: string; toAgent: string; passage: string }>;
}
const EXPECTED = JSON.parse(readFileSync(repoPath('test/fixtures/traces/expected.json'), 'utf8')) as Record<string, { traces: ExpectedTrace[] }>;
const fixture = (name: string) => repoPath('test/fixtures/traces', name);

async function load(file: string, mapping?: TraceMapping): Promise<Reconstruction> {
  const read = await readTraceFile(file);
  attachLogs(read.spans, read.logs);
  return reconstruct(read.spans, file, mapping);
}

const userText = (c: AgentCall) =>
  c.messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
const blockText = (c: AgentCall, id: string) => {
  const b = c.blocks.find((x) => x.id === id)!;
  return c.renderedInput.slice(b.charStart, b.charEnd);
};

/** The checks every fixture of the planner -> researcher -> writer program passes. */
async function checkPipeline(name: string): Promise<void> {
  const built = await load(fixture(name));
  const expected = EXPECTED[name].traces;
  assert.equal(built.traces.length, expected.length, 'one imported trace per recorded trace');
  assert.deepEqual(built.warnings, []);
  for (const [t, want] of expected.entries()) {
    const got = built.traces[t];
    assert.deepEqual([...new Set(got.calls.map((c) => c.agent))], want.agents);
    assert.equal(got.calls.length, want.calls.length);
    assert.equal(got.outputAgent, 'writer');
    for (const [i, wc] of want.calls.entries()) {
      const c = got.calls[i];
      assert.equal(c.agent, wc.agent, `call ${i}`);
      assert.equal(c.messages.find((m) => m.role === 'system')?.content, wc.system, `${c.id}: the system message is the agent's prompt`);
      assert.equal(userText(c), wc.userMessage, `${c.id}: the user message as sent`);
      assert.equal(attributedOutput(c), wc.output, `${c.id}: the output (or its tool calls)`);
      for (const r of wc.toolResults ?? []) {
        const block = c.blocks.find((b) => b.source.kind === 'tool' && b.source.toolCallId === r.id);
        assert.ok(block, `${c.id}: the tool result ${r.id} is a tool block`);
        assert.equal(c.renderedInput.slice(block.charStart, block.charEnd), r.content);
        const asker = got.calls.find((x) => x.id === (block.source as { callId: string }).callId)!;
        assert.equal(asker.toolCalls.find((x) => x.id === r.id)?.result, r.content, 'the asking call records the result');
      }
    }
    for (const h of want.handoffs) {
      const targets = got.calls.filter((c) => c.agent === h.toAgent);
      const carrying = targets.filter((c) => c.blocks.some((b) => b.source.kind === 'agent' && b.source.agent === h.fromAgent));
      assert.equal(carrying.length, targets.length, `every call of ${h.toAgent} has a block from ${h.fromAgent}`);
      for (const c of carrying) {
        const b = c.blocks.find((x) => x.source.kind === 'agent' && x.source.agent === h.fromAgent)!;
        // The character range is exactly the verbatim passage.
        assert.equal(c.renderedInput.slice(b.charStart, b.charEnd), h.passage, `${c.id}: block ${b.id}`);
        const from = got.calls.find((x) => x.id === (b.source as { callId: string }).callId)!;
        assert.equal(from.agent, h.fromAgent);
        assert.equal(collapse(from.output), collapse(h.passage));
      }
    }
    // The rest of each user message is task text, and the blocks do not overlap.
    for (const c of got.calls) {
      const sorted = [...c.blocks].sort((a, b) => a.charStart - b.charStart);
      sorted.forEach((b, k) => k > 0 && assert.ok(b.charStart >= sorted[k - 1].charEnd, `${c.id}: blocks overlap`));
    }
    const planner = got.calls[0];
    assert.deepEqual(planner.blocks.map((b) => b.id), ['task.user']);
    const writer = got.calls[got.calls.length - 1];
    assert.ok(blockText(writer, 'task.user').startsWith('Question: '));

    // Edges of the agent graph are the provenance links: planner -> researcher (both steps), researcher -> writer.
    const graph = buildAttributionGraph(got.sampleId, got.calls, [], { topK: 1, outputAgent: got.outputAgent });
    const edge = (from: string, to: string) => graph.edges.some((e) => e.from === from && e.to === to);
    const [p, r0, r1, w] = got.calls.map((c) => c.id);
    assert.ok(edge(p, r0) && edge(p, r1), 'planner -> researcher');
    assert.ok(edge(r1, w), 'researcher (its answering step) -> writer');
    assert.ok(edge(`tool_result:${r0}:${got.calls[1].toolCalls[0].id}`, r1), 'the tool result leads to the next step');
    assert.ok(edge(w, 'loss'));
  }
  assert.deepEqual([...built.prompts.keys()], ['planner', 'researcher', 'writer']);
}

describe('reconstruction from real instrumentation', () => {
  test('@opentelemetry/instrumentation-openai, content in GenAI log records (chat completions)', () => checkPipeline('genai-openai.otlp.jsonl'));
  test('@opentelemetry/instrumentation-openai, latest conventions (gen_ai.input.messages on events, Responses API)', () =>
    checkPipeline('genai-openai-latest.otlp.jsonl'));
  test('@arizeai/openinference-instrumentation-openai (llm.input_messages attributes, AGENT spans)', () => checkPipeline('openinference-openai.otlp.jsonl'));

  test('@openai/agents hand-off: agents from the hand-off tool and the mapping, the hand-off as a tool block', async () => {
    const name = 'openai-agents-handoff.otlp.jsonl';
    const want = EXPECTED[name].traces[0];
    const plain = await load(fixture(name));
    // No agent spans (the SDK's own tracing is not OpenTelemetry): the taken-over agent is named by its transfer_to_ tool.
    assert.deepEqual([...plain.prompts.keys()], ['agent_1', 'Weather_agent']);
    const built = await load(fixture(name), parseMapping({ agents: { agent_1: 'Triage_agent' } }, 'mapping.yaml'));
    const [triage, weather0, weather1] = built.traces[0].calls;
    assert.deepEqual(built.traces[0].calls.map((c) => c.agent), ['Triage_agent', 'Weather_agent', 'Weather_agent']);
    want.calls.forEach((wc, i) => {
      const c = built.traces[0].calls[i];
      assert.equal(c.messages.find((m) => m.role === 'system')?.content, wc.system);
      assert.equal(attributedOutput(c), wc.output);
    });
    assert.equal(triage.toolCalls[0].name, 'transfer_to_Weather_agent');
    // The weather agent received the hand-off: the transfer's result is a tool block of the triage call.
    const handoff = weather0.blocks.find((b) => b.source.kind === 'tool')!;
    assert.deepEqual(handoff.source, { kind: 'tool', tool: 'transfer_to_Weather_agent', toolCallId: triage.toolCalls[0].id, callId: triage.id });
    assert.equal(blockText(weather0, 'task.user'), want.handoffs[0].passage, 'the conversation it was handed is task text');
    const graph = buildAttributionGraph(built.traces[0].sampleId, built.traces[0].calls, [], { topK: 1, outputAgent: 'Weather_agent' });
    assert.ok(graph.edges.some((e) => e.from === `tool_result:${triage.id}:${triage.toolCalls[0].id}` && e.to === weather0.id));
    assert.equal(built.traces[0].outputCallId, weather1.id);
  });

  test('content capture off: an error naming the spans and how to turn capture on', async () => {
    await assert.rejects(load(fixture('genai-openai-nocontent.otlp.jsonl')), (err: Error) => {
      assert.ok(err instanceof TraceError);
      assert.match(err.message, /4 LLM call span\(s\) record no message content/);
      assert.match(err.message, /span [0-9a-f]{16} "chat test-model" \(.*genai-openai-nocontent\.otlp\.jsonl:1\)/);
      assert.match(err.message, /OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true/);
      return true;
    });
  });
});

describe('reconstruction rules', () => {
  const SYSTEM_A = 'You are agent A.';
  const A_OUT = 'The capital of France is Paris, on the Seine.';
  const spansOf = (...specs: Parameters<typeof exportRequest>[0]) => [exportRequest(specs)];

  test('a verbatim passage after whitespace normalisation is a block from that agent; short or partial ones are not', async () => {
    const file = traceFile(
      spansOf(
        agentSpan('a000000000000001', 'alpha', 0),
        flatLlm('b000000000000001', 'a000000000000001', 1, SYSTEM_A, 'Question: capital of France?', A_OUT),
        agentSpan('a000000000000002', 'beta', 10),
        // A's output re-wrapped over lines, plus a partial quote and a short word that also occur in A's output.
        flatLlm('b000000000000002', 'a000000000000002', 11, 'You are B.', `Notes:\n  The capital of France\n is Paris,   on the Seine.\nAlso: Paris.`, 'OK'),
      ),
    );
    const { traces } = await load(file);
    const [a, b] = traces[0].calls;
    assert.deepEqual(b.blocks.map((x) => [x.id, b.renderedInput.slice(x.charStart, x.charEnd)]), [
      ['task.user', 'Notes:'],
      ['agent:alpha', 'The capital of France\n is Paris,   on the Seine.'],
      ['task.user#2', 'Also: Paris.'],
    ]);
    assert.deepEqual(b.blocks[1].source, { kind: 'agent', agent: 'alpha', callId: a.id });
    assert.equal(a.id, `${TRACE}/t0/alpha/s0`);
  });

  test('mapping: agents renamed by span name, and a paraphrased hand-off linked explicitly', async () => {
    const file = traceFile(
      spansOf(
        flatLlm('b000000000000001', undefined, 1, SYSTEM_A, 'Question?', A_OUT),
        { ...flatLlm('b000000000000002', undefined, 11, 'You are B.', 'In short: France has its capital at Paris.', 'OK'), name: 'writer-llm' },
      ),
    );
    const plain = await load(file);
    assert.deepEqual(plain.traces[0].calls.map((c) => c.agent), ['agent_1', 'agent_2'], 'one agent per distinct system prompt');
    assert.deepEqual(plain.traces[0].calls[1].blocks.map((b) => b.source.kind), ['task'], 'a paraphrase is not found');
    const mapping = parseMapping({ agents: { agent_1: 'researcher', 'writer-llm': 'writer' }, links: [{ from: 'researcher', to: 'writer' }] }, 'map.yaml');
    const mapped = await load(file, mapping);
    const [r, w] = mapped.traces[0].calls;
    assert.deepEqual([r.agent, w.agent], ['researcher', 'writer']);
    assert.deepEqual(w.blocks.map((b) => [b.id, b.source]), [['agent:researcher', { kind: 'agent', agent: 'researcher', callId: r.id }]]);
  });

  test('bad mapping files name the field', () => {
    assert.throws(() => parseMapping({ agent: {} }, 'm.yaml'), /m\.yaml: unknown field "agent"/);
    assert.throws(() => parseMapping({ agents: { x: 3 } }, 'm.yaml'), /agents\."x" must be an agent name/);
    assert.throws(() => parseMapping({ links: [{ from: 'a' }] }, 'm.yaml'), /links\[0\] must be \{from: <agent>, to: <agent>\}/);
  });

  test('span events of the older GenAI conventions (gen_ai.content.prompt / completion)', async () => {
    const file = traceFile(
      spansOf({
        spanId: 'b000000000000001',
        name: 'chat',
        at: 1,
        attributes: { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'm' },
        events: [
          { name: 'gen_ai.content.prompt', attributes: { 'gen_ai.prompt': JSON.stringify([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }]) } },
          { name: 'gen_ai.content.completion', attributes: { 'gen_ai.completion': JSON.stringify([{ role: 'assistant', content: 'Hello!' }]) } },
        ],
      }),
    );
    const c = (await load(file)).traces[0].calls[0];
    assert.equal(c.messages[0].content, 'Be brief.');
    assert.equal(c.renderedInput, 'Hi there');
    assert.equal(c.output, 'Hello!');
    assert.equal(c.source?.convention, 'gen_ai events');
  });

  test('a cycle in span parents is an error naming the spans', async () => {
    const file = traceFile(spansOf(agentSpan('a000000000000001', 'x', 0, 'a000000000000002'), agentSpan('a000000000000002', 'y', 1, 'a000000000000001'), flatLlm('b000000000000001', 'a000000000000001', 2, 'S', 'U', 'O')));
    await assert.rejects(load(file), /span parents form a cycle: .*a000000000000001.*a000000000000002/);
  });

  test('duplicate span ids: two different spans are an error naming both lines; an identical re-export is read once', async () => {
    const llm = flatLlm('b000000000000001', undefined, 1, 'S', 'U', 'O');
    const twice = traceFile([exportRequest([llm]), exportRequest([llm])]);
    assert.equal((await load(twice)).traces[0].calls.length, 1);
    const clash = traceFile([exportRequest([llm]), exportRequest([{ ...llm, name: 'other', at: 7 }])]);
    await assert.rejects(load(clash), (err: Error) => /duplicate span id b000000000000001: "chat gpt-4o" \(.*:1\) and "other" \(.*:2\)/.test(err.message));
  });

  test('a missing parent is a warning (the span is read as a root), not an error', async () => {
    const file = traceFile(spansOf(flatLlm('b000000000000001', 'ffffffffffffffff', 1, 'S', 'U', 'O')));
    const built = await load(file);
    assert.equal(built.traces[0].calls.length, 1);
    assert.match(built.warnings[0], /span b000000000000001 "chat gpt-4o" \(.*:1\) has parent ffffffffffffffff, which is not in the export: read as a root/);
  });
});

describe('reading trace files', () => {
  test('a file that is not a trace, invalid JSON on a line, and a trace without LLM spans: errors naming file and line', async () => {
    await assert.rejects(readTraceFile(traceFile('name,age\nann,3\n', 'people.csv')), /people\.csv: not a trace: found neither "resourceSpans"/);
    await assert.rejects(readTraceFile(traceFile('{"data": [1, 2]}\n')), /not a trace: found neither/);
    const good = JSON.stringify(exportRequest([flatLlm('b000000000000001', undefined, 1, 'S', 'U', 'O')]));
    await assert.rejects(readTraceFile(traceFile(`${good}\n${good}\n{"resourceSpans": [oops]}\n`)), /trace\.jsonl:3: not valid JSON/);
    const noLlm = traceFile([exportRequest([{ spanId: 'c000000000000001', name: 'GET /', at: 0, attributes: { 'http.method': 'GET' } }])]);
    await assert.rejects(load(noLlm), /no LLM call spans found in 1 span\(s\)/);
    await assert.rejects(readTraceFile('/nonexistent/trace.json'), /\/nonexistent\/trace\.json: cannot read the trace file \(no such file\)/);
  });

  test('pretty-printed single documents, snake_case keys and base64 ids (protobuf JSON mapping) read alike', async () => {
    const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
    const request = {
      resource_spans: [
        {
          scope_spans: [
            {
              spans: [
                {
                  trace_id: b64(TRACE),
                  span_id: b64('b000000000000001'),
                  name: 'chat',
                  start_time_unix_nano: '1700000000000000000',
                  end_time_unix_nano: '1700000000500000000',
                  attributes: [
                    { key: 'gen_ai.operation.name', value: { string_value: 'chat' } },
                    { key: 'gen_ai.input.messages', value: { string_value: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hello' }] }]) } },
                    { key: 'gen_ai.output.messages', value: { string_value: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hi!' }] }]) } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const read = await readTraceFile(traceFile(JSON.stringify(request, null, 2), 'export.json'));
    assert.equal(read.spans[0].traceId, TRACE);
    assert.equal(read.spans[0].spanId, 'b000000000000001');
    const { traces } = reconstruct(read.spans, 'export.json');
    assert.equal(traces[0].calls[0].renderedInput, 'Hello');
    assert.equal(traces[0].calls[0].output, 'Hi!');
    assert.equal(traces[0].calls[0].durationMs, 500);
  });

  test('OpenInference span exports (Phoenix: one span per line, nested attributes)', async () => {
    const span = (id: string, parent: string | null, kind: string, attributes: object, t: number) => ({
      name: kind === 'LLM' ? 'ChatCompletion' : 'writer',
      context: { trace_id: TRACE, span_id: id },
      parent_id: parent,
      span_kind: kind,
      start_time: new Date(1_700_000_000_000 + t).toISOString(),
      end_time: new Date(1_700_000_000_000 + t + 3).toISOString(),
      attributes,
    });
    const file = traceFile([
      span('a000000000000001', null, 'AGENT', { agent: { name: 'writer' } }, 0),
      span('b000000000000001', 'a000000000000001', 'LLM', {
        llm: {
          model_name: 'gpt-4o-mini',
          input_messages: [{ message: { role: 'system', content: 'Write.' } }, { message: { role: 'user', content: 'About cats' } }],
          output_messages: [{ message: { role: 'assistant', content: 'Cats purr.' } }],
        },
      }, 1),
    ]);
    const read = await readTraceFile(file);
    assert.equal(read.format, 'openinference');
    const c = reconstruct(read.spans, file).traces[0].calls[0];
    assert.deepEqual([c.agent, c.model, c.renderedInput, c.output], ['writer', 'gpt-4o-mini', 'About cats', 'Cats purr.']);
  });
});
