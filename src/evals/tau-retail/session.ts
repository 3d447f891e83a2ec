/**
 * One episode's state, shared by the environment (which opens it) and the tool handlers (which act on its database).
 *
 * In a workspace the environment module and the tools module are bundled separately, so they share no module
 * state: the registry lives on `globalThis` under a well-known symbol, and the environment passes the session id to
 * the tools through the turn's task fields (`context.state.task[SESSION_FIELD]`).
 */
import type { RetailAction, RetailDatabase } from './db';

/** The turn input field that carries the session id. */
export const SESSION_FIELD = 'tauRetailSession';

export interface RetailSession {
  id: string;
  database: RetailDatabase;
  /** Tool actions in order, with their observations. */
  toolActions: Array<RetailAction & { observation: string }>;
  /** Set by a transfer_to_human_agents call: the episode is over. */
  transferred: boolean;
}

const REGISTRY = Symbol.for('agentchord.tau-retail.sessions');

function registry(): Map<string, RetailSession> {
  const holder = globalThis as { [REGISTRY]?: Map<string, RetailSession> };
  return (holder[REGISTRY] ??= new Map());
}

let counter = 0;

export function openSession(database: RetailDatabase): RetailSession {
  const id = `tau-retail-${process.pid}-${Date.now().toString(36)}-${++counter}`;
  const session: RetailSession = { id, database, toolActions: [], transferred: false };
  registry().set(id, session);
  return session;
}

export function closeSession(id: string): void {
  registry().delete(id);
}

export function findSession(id: unknown): RetailSession | undefined {
  return typeof id === 'string' ? registry().get(id) : undefined;
}

