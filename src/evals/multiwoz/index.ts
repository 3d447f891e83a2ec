/**
 * The MultiWOZ benchmark: databases and their query (db), the eight tools (tools), the dialogue state derived from
 * tool calls (state), the standard evaluator's Inform / Success / DST (evaluator), and for the example workspace
 * examples/multiwoz: the teacher-forced environment (environment), its two verbal losses (losses) and the
 * conversion of a run to predictions (runConversion). (extract.ts and splits.ts, which build that example's data,
 * are left out: they are build steps.)
 */
export * from './types';
export { partialRatio } from './fuzzy';
export { MultiwozInputError, normaliseResponse, normaliseSlotName, normaliseSlotValue, normaliseState, normaliseTime, timeToMinutes } from './normalise';
export { isVenueDomain, loadMultiwozDb, multiwozDbFromTables, NO_CONSTRAINT_VALUES, VENUE_DOMAINS, type DbRecord, type MultiwozDb, type TaxiTable, type VenueDomain } from './db';
export { loadMultiwozEvalData, loadSampleDialogues, MULTIWOZ_DATA_FILES, type MultiwozEvalData } from './data';
export { deriveBeliefStates, deriveBookedDomains, deriveGoal, deriveGoldStates, evaluatorId, toSampleDialogue, type RawDialogue } from './derive';
export { DEFAULT_MAX_RESULTS, MULTIWOZ_TOOL_NAMES, multiwozTools, referenceNumber, TOOL_SLOTS, type MultiwozToolName, type MultiwozToolOptions } from './tools';
export { slotsFromToolCall, stateFromToolCalls, statesPerTurn, type ToolCallRecord } from './state';
export { estimateActiveDomains, evaluateMultiwoz, judgeDialogue, percentOneDecimal, type DialogueJudgement, type DstScores, type MultiwozScores } from './evaluator';
export { createMultiwozEnvironment, evaluateDialogue, historyText, readDialogueTask, type DialogueTask, type MultiwozEnvironment, type TurnFields } from './environment';
export { checkTurnStates, informSuccessFacts, informSuccessLossText, jgaLossText, type InformSuccessFacts, type TurnStateCheck } from './losses';
export { dialogueIdOfSample, labelOfSample, predictedDialogue, predictionsFromCalls, predictionsFromRunFolder, toolCallsOf, type ConversionOptions, type RunCall } from './runConversion';
