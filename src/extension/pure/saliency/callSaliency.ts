/**
 * The token saliency of one recorded agent call, placed in the two texts a trace document shows: the call's input
 * (AgentCall.renderedInput) and its output. Pure (no `vscode`).
 */
import { attributedOutput } from '../../../core/engine/blocks';
import type { AgentCall, CallAttribution } from '../../../core/engine/types';
import type { SalientToken } from './aggregate';
import { placeCallTokens, type CallPart } from './tokenAlign';

export interface CallSaliency {
  call: AgentCall;
  /** Why there are no tokens (attribution unavailable or single-block), when there are none. */
  missing?: string;
  input: SalientToken[];
  output: SalientToken[];
}

/** The text a trace document of a call shows. */
export function callText(call: AgentCall, part: CallPart): string {
  return part === 'input' ? call.renderedInput : attributedOutput(call);
}

export function callSaliency(call: AgentCall, attribution: CallAttribution | undefined): CallSaliency {
  const tokens = attribution?.tokens;
  if (!attribution || !tokens || tokens.pieces.length === 0) {
    const why = !attribution
      ? 'the run recorded no attribution for this call'
      : attribution.status === 'single-block'
        ? 'the call has a single input block (weight 1 without a gradient), so no token saliency was computed'
        : (attribution.reason ?? `attribution status: ${attribution.status}`);
    return { call, missing: why, input: [], output: [] };
  }
  const blocks = [...call.blocks].sort((a, b) => a.charStart - b.charStart);
  const firstBlock = blocks[0]?.charStart ?? 0;
  // Runs recorded before token texts existed have pieces only: they stand in (tokens that do not match stay undrawn).
  const texts = tokens.texts ?? tokens.pieces;
  const placed = placeCallTokens(texts, call.renderedInput, firstBlock, attributedOutput(call));
  const input: SalientToken[] = [];
  const output: SalientToken[] = [];
  for (const p of placed) {
    const token: SalientToken = {
      start: p.start,
      end: p.end,
      l1: tokens.l1[p.index] ?? 0,
      gradInput: tokens.gradInput[p.index] ?? 0,
      piece: texts[p.index],
    };
    if (p.part === 'output') {
      output.push({ ...token, block: 'output' });
    } else {
      const block = blocks.find((b) => p.start >= b.charStart && p.start < b.charEnd);
      input.push({ ...token, block: block ? block.label || block.id : 'framing' });
    }
  }
  return { call, input, output };
}
