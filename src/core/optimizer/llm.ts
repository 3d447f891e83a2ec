/**
 * The LLM optimizer: one chat call to an OpenAI-compatible model with the agents' prompts (frozen regions marked),
 * their tools, the history of (prompts, score) and the trajectories, asking for JSON
 * `{"reasoning": "...", "agent_prompts": {"<agent>": "<new prompt>"}}`.
 *
 * The reply is checked before anything becomes a proposal: known agents and string prompts only (else no proposal),
 * only agents on the trajectories may change (others are dropped with a warning), frozen regions are put back
 * verbatim if the model altered them, a prompt over optimizer.maxPromptChars is refused, and lines that echo the
 * optimizer's own instructions or JSON keys are stripped.
 */
import { blamedAgents } from '../engine/backward';
import type { PromptChange } from '../engine/types';
import type { ChatProvider } from '../llm/types';
import { parsePromptFile, restoreFrozenRegions } from '../prompt';
import { parseJsonObject } from '../llm/parseJson';
import { excerpt, splitFrontMatter, type Optimizer, type OptimizerInput, type OptimizerResult } from './types';

export const OPTIMIZER_INSTRUCTIONS = `You improve the prompts of a multi-agent system.
Each agent has a prompt; the system failed on some tasks. The failures were traced back through the agents that caused them (trajectories: input -> agents -> loss).
Rewrite the prompts of the blamed agents so that these failures do not happen again, without breaking what works.
Text between <DONT_CHANGE> and </DONT_CHANGE> must be copied verbatim, tags included.
Keep every {{placeholder}} that the prompt uses.
Write each prompt as instructions to that agent only; never mention this optimization, the loss, or the JSON format.
Reply with one JSON object and nothing else: {"reasoning": "<why these changes>", "agent_prompts": {"<agent name>": "<complete new prompt>"}}.
Include only the agents whose prompts you change.`;

/** Phrases only the optimizer's own request contains; a prompt line holding one of them leaked from it. */
const LEAK_MARKERS = ['agent_prompts', '"reasoning"', 'trajectories:', 'Reply with one JSON object', 'You improve the prompts of a multi-agent system'];

export interface LlmOptimizerOptions {
  /** Tool name -> description, to show the model what the agents can call. */
  toolDescriptions?: Record<string, string>;
  /** Most trajectories shown (the first ones, in order). */
  maxTrajectories?: number;
}

export function makeLlmOptimizer(provider: ChatProvider, options: LlmOptimizerOptions = {}): Optimizer {
  return {
    kind: 'llm',
    async propose(input, signal) {
      const blamed = blamedAgents(input.trajectories);
      if (blamed.length === 0) return { ok: false, message: 'no trajectories: every sample of the batch was correct, nothing to optimize' };
      const request = buildOptimizerRequest(input, blamed, options);
      const response = await provider.complete(
        { messages: [{ role: 'system', content: OPTIMIZER_INSTRUCTIONS }, { role: 'user', content: request }] },
        signal,
      );
      return interpretOptimizerReply(response.message.content, input, blamed);
    },
  };
}

export function buildOptimizerRequest(input: OptimizerInput, blamed: string[], options: LlmOptimizerOptions = {}): string {
  const parts: string[] = ['# Agents'];
  for (const agent of input.system.agents) {
    const text = input.prompts[agent.name] ?? '';
    const { body } = splitFrontMatter(text, parsePromptFile(text).bodyOffset);
    const inputs = agent.inputs.map((i) => (i.kind === 'agent' ? i.agent : `task.${i.field}`)).join(', ') || '(none)';
    parts.push(
      `## ${agent.name}${blamed.includes(agent.name) ? ' (blamed: may change)' : ' (not blamed: keep as is)'}`,
      agent.description ? `Role: ${agent.description}` : '',
      `Inputs: ${inputs}`,
      agent.tools.length ? `Tools: ${agent.tools.map((t) => (options.toolDescriptions?.[t] ? `${t} (${options.toolDescriptions[t]})` : t)).join(', ')}` : '',
      `Prompt:\n<<<\n${body.trim()}\n>>>`,
    );
  }
  if (input.history.length > 0) {
    // Scores of every step; earlier versions of the blamed prompts only where they differ from today's.
    parts.push('# History (training-batch score per step, higher is better)');
    for (const h of input.history) {
      parts.push(`- step ${h.step}: score ${h.score.toFixed(3)}`);
      for (const agent of blamed) {
        const earlier = h.prompts[agent];
        if (earlier !== undefined && earlier !== input.prompts[agent]) {
          parts.push(`  ${agent} prompt then:\n  <<<\n${excerpt(parsePromptFile(earlier).body, 600)}\n  >>>`);
        }
      }
    }
  }
  const callsById = new Map(input.calls.map((c) => [c.id, c]));
  const shown = input.trajectories.slice(0, options.maxTrajectories ?? 10);
  parts.push(`# Failures (${input.trajectories.length} trajectories${shown.length < input.trajectories.length ? `, first ${shown.length} shown` : ''})`);
  shown.forEach((t, i) => {
    parts.push(`## Trajectory ${i + 1} (sample ${t.sampleId}): ${t.agents.join(' -> ')} -> loss`);
    for (const id of t.path) {
      const call = callsById.get(id);
      if (call) parts.push(`- ${call.agent} produced: "${excerpt(call.output, 300)}"`);
    }
    parts.push(`- Loss: ${t.loss}`);
  });
  parts.push(`# Task\nRewrite the prompts of: ${blamed.join(', ')}.`);
  return parts.filter(Boolean).join('\n');
}

/** Checks a reply and turns it into prompt changes, or says why there is no proposal. */
export function interpretOptimizerReply(reply: string, input: OptimizerInput, blamed: string[]): OptimizerResult {
  const parsed = parseJsonObject(reply);
  if (!parsed.ok) return { ok: false, message: `optimizer reply rejected: ${parsed.error}` };
  const prompts = parsed.value.agent_prompts;
  if (prompts === null || typeof prompts !== 'object' || Array.isArray(prompts)) {
    return { ok: false, message: 'optimizer reply rejected: "agent_prompts" is missing or not an object of agent -> prompt' };
  }
  const known = new Set(input.system.agents.map((a) => a.name));
  const unknown = Object.keys(prompts).filter((a) => !known.has(a));
  if (unknown.length) {
    return { ok: false, message: `optimizer reply rejected: unknown agent${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (agents: ${[...known].join(', ')})` };
  }
  const notText = Object.entries(prompts).filter(([, v]) => typeof v !== 'string').map(([k]) => k);
  if (notText.length) return { ok: false, message: `optimizer reply rejected: the prompt of ${notText.join(', ')} is not a string` };

  const reasoning = typeof parsed.value.reasoning === 'string' ? parsed.value.reasoning : '';
  const changes: PromptChange[] = [];
  const skipped: string[] = [];
  for (const [agent, proposed] of Object.entries(prompts as Record<string, string>)) {
    if (!blamed.includes(agent)) {
      skipped.push(`${agent} is on no trajectory: its prompt was left unchanged`);
      continue;
    }
    const config = input.system.agents.find((a) => a.name === agent)!;
    const before = input.prompts[agent] ?? '';
    const change = checkPrompt(before, proposed, input.system.optimizer.maxPromptChars);
    if (change.refused) {
      skipped.push(`${agent}: ${change.refused}`);
      continue;
    }
    if (change.after === before) continue;
    changes.push({ agent, file: config.promptFile, before, after: change.after, warnings: change.warnings });
  }
  if (changes.length === 0) {
    return { ok: false, message: `the optimizer proposed no usable change${skipped.length ? ` (${skipped.join('; ')})` : ''}` };
  }
  const note = skipped.length ? `\n\nAgentChord: ${skipped.join('; ')}.` : '';
  return { ok: true, reasoning: reasoning + note, changes };
}

/** Leak stripping, frozen-region restoration and the length budget for one proposed prompt. */
export function checkPrompt(before: string, proposed: string, maxChars: number): { after: string; warnings: string[]; refused?: string } {
  const warnings: string[] = [];
  const original = parsePromptFile(before);
  const { head, body: originalBody } = splitFrontMatter(before, original.bodyOffset);
  // The model saw the body only; should it have echoed front matter anyway, that copy is dropped.
  let body = proposed.startsWith('---') ? parsePromptFile(proposed).body : proposed;

  const kept: string[] = [];
  const leaked: string[] = [];
  for (const line of body.split('\n')) {
    const leak = LEAK_MARKERS.some((m) => line.includes(m)) && !originalBody.includes(line);
    if (leak) leaked.push(line.trim());
    else kept.push(line);
  }
  if (leaked.length) {
    body = kept.join('\n');
    warnings.push(`removed ${leaked.length} line${leaked.length > 1 ? 's' : ''} echoing the optimizer's instructions: ${leaked.map((l) => `"${excerpt(l, 60)}"`).join(', ')}`);
  }
  // Keep the file's final newline.
  if (originalBody.endsWith('\n') && !body.endsWith('\n')) body += '\n';

  const restored = restoreFrozenRegions(originalBody, body);
  if (restored.restored.length) {
    warnings.push(`the optimizer altered or dropped ${restored.restored.length} frozen region${restored.restored.length > 1 ? 's' : ''}; restored verbatim`);
    body = restored.text;
  }
  const after = head + body;
  if (after.length > maxChars) {
    return { after: before, warnings, refused: `the proposed prompt has ${after.length} characters, over the budget optimizer.maxPromptChars = ${maxChars}` };
  }
  return { after, warnings };
}
