// The customer side of tau-bench retail (environment: { module: environment.ts } in agentchord.yaml): an LLM user
// simulator plays the task's customer, each episode gets a fresh copy of the shop's database, and the episode is
// scored with tau-bench's reward. See src/evals/tau-retail/workspaceEnvironment.ts for the turn fields
// (message, history) and the options (dataDir, relative to this folder; user: the simulator's endpoint).
export { createEnvironment } from '../../src/evals/tau-retail/workspaceEnvironment';
