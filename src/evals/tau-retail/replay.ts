/**
 * Replaying actions on a fresh database: the ground truth of a task (its `actions`, in order) gives the observations
 * tau-bench's own code gives and the database the agent's must equal for the action reward (spec §6).
 */
import { RetailDatabase, type RetailAction, type RetailData, type RetailTask } from './db';
import { runRetailTool, TRANSFER_TOOL } from './tools';

export interface ReplayResult {
  /** One per action, in order. */
  observations: string[];
  database: RetailDatabase;
}

/**
 * Runs the actions in order on a fresh copy of `data`. A `respond` action (none occurs in the retail ground truth)
 * only talks to the user, so here it observes '' and changes nothing.
 */
export function replayActions(data: RetailData, actions: readonly RetailAction[]): ReplayResult {
  const database = new RetailDatabase(data);
  const observations = actions.map((action) => (action.name === 'respond' ? '' : runRetailTool(database, action.name, action.kwargs ?? {})));
  return { observations, database };
}

/** The database the task's ground truth leads to, as the reward computes it: every action except the transfer. */
export function groundTruthDatabase(data: RetailData, task: RetailTask): RetailDatabase {
  return replayActions(data, task.actions.filter((a) => a.name !== TRANSFER_TOOL)).database;
}
