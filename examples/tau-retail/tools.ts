// The 16 tau-bench retail tools (tools: { module: tools.ts } in agentchord.yaml), exactly as tau-bench runs them:
// src/evals/tau-retail/tools.ts. Each call acts on the database of the episode that environment.ts opened
// (it passes the episode's id in the turn's task fields), so the tools need no data path of their own.
export { tools } from '../../src/evals/tau-retail/tools';
