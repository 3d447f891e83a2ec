/**
 * The MultiWOZ benchmark: databases and their query (db), the eight tools (tools), the dialogue state derived from
 * tool calls (state), and the standard evaluator's Inform / Success / DST (evaluator). The example workspace that
 * uses them is examples/multiwoz. (extract.ts, which builds that example's data, is left out: it is a build step.)
 */
export * from './types';
export { partialRatio } from './fuzzy';
export { MultiwozInputError, normaliseResponse, normaliseSlotName, normaliseSlotValue, normaliseState, normaliseTime, timeToMinutes } from './normalise';
export { isVenueDomain, loadMultiwozDb, NO_CONSTRAINT_VALUES, VENUE_DOMAINS, type DbRecord, type MultiwozDb, type TaxiTable, type VenueDomain } from './db';
export { loadMultiwozEvalData, loadSampleDialogues, MULTIWOZ_DATA_FILES, type MultiwozEvalData } from './data';
export { deriveBeliefStates, deriveBookedDomains, deriveGoal, deriveGoldStates, evaluatorId, toSampleDialogue, type RawDialogue } from './derive';
export { DEFAULT_MAX_RESULTS, MULTIWOZ_TOOL_NAMES, multiwozTools, referenceNumber, TOOL_SLOTS, type MultiwozToolName, type MultiwozToolOptions } from './tools';
export { slotsFromToolCall, stateFromToolCalls, statesPerTurn, type ToolCallRecord } from './state';
export { estimateActiveDomains, evaluateMultiwoz, percentOneDecimal, type DstScores, type MultiwozScores } from './evaluator';
