/** Prompt files (`*.chord.md`): parsing, rendering for the model, and the optimizer's frozen-region guards. */
export * from './types';
export { parsePromptFile, PLACEHOLDER_NAME } from './parse';
export { renderPrompt } from './render';
export { frozenRegionsPreserved, restoreFrozenRegions } from './frozen';
export { promptProblemsForFile } from './problems';
