/**
 * Replays one MultiWOZ dialogue per task sample with teacher forcing (the gold history and the current user turn
 * each turn), collects the replies and tool calls, and scores the dialogue with the standard evaluator
 * (Inform, Success, joint goal accuracy) plus the two verbal losses. See src/evals/multiwoz/environment.ts.
 */
import { createMultiwozEnvironment } from '../../src/evals/multiwoz/environment';
import { db } from './db';

export function createEnvironment() {
  return createMultiwozEnvironment(db);
}
