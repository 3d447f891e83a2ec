/**
 * Several backends (GPU hosts running `agentchord serve`) as one LocalModels, so the engine spreads a run's
 * attribution calls over them without knowing: each call goes to the backend with the most free slots (at most
 * `concurrency` calls in flight per backend), and a call whose backend fails or disappears (connection error, crash,
 * time-out, a backend draining for shutdown) is retried on another. A request the backend rejects as invalid (bad
 * parameters, a model error) fails at once: another backend would say the same.
 *
 * Results do not depend on which backend computed them (the same model, teacher-forced, deterministic), and the forward
 * run writes its records in sample order (RunFolder.orderRecords), so one backend or three give the same run folder.
 * Hand-written rather than a generic pool library: the retry rule needs our error types, and it is one small queue.
 */
import type { DeviceChoice } from '../../protocol/attribution';
import { BackendErrorCodes } from '../../protocol/backend';
import type { LocalModel, LocalModels } from '../../protocol/localModel';
import type { BackendClient } from './client';
import { BackendAbortError, BackendCrashedError, BackendRequestError, BackendTimeoutError } from './errors';
import { remoteModels } from './remoteModels';

export interface PoolMember {
  client: BackendClient;
  /** Calls in flight at once on this backend. Default 1. */
  concurrency?: number;
  /** How logs and errors name it (its URL). */
  name: string;
}

export interface PoolOptions {
  /** A failed backend gets no calls for this long (then it is tried again). Default 30 s. */
  downMs?: number;
  /** Dispose the clients with the pool. Default true. */
  ownsClients?: boolean;
  /** A backend failed and its call went elsewhere. */
  onFailover?: (event: { backend: string; error: string }) => void;
  /** For tests: the clock. */
  now?: () => number;
}

/** Retryable: the backend, not the request, is at fault. */
export function isBackendFailure(err: unknown): boolean {
  if (err instanceof BackendCrashedError || err instanceof BackendTimeoutError) return true;
  if (err instanceof BackendRequestError) return err.code === BackendErrorCodes.ShuttingDown || err.code === -32603 /* internal error */;
  if (err instanceof BackendAbortError) return false;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code);
}

interface Slot {
  member: PoolMember;
  index: number;
  models: LocalModels;
  active: number;
  concurrency: number;
  downUntil: number;
  lastError?: string;
}

interface Waiter {
  exclude: Set<Slot>;
  grant(slot: Slot): void;
  fail(err: Error): void;
  signal?: AbortSignal;
}

export function pooledModels(members: PoolMember[], options: PoolOptions = {}): LocalModels {
  if (members.length === 0) throw new Error('pooledModels: no backends given');
  const now = options.now ?? Date.now;
  const downMs = options.downMs ?? 30_000;
  const slots: Slot[] = members.map((member, index) => ({
    member,
    index,
    models: remoteModels(member.client),
    active: 0,
    concurrency: Math.max(1, member.concurrency ?? 1),
    downUntil: 0,
  }));
  const waiting: Waiter[] = [];

  const usable = (slot: Slot, exclude: Set<Slot>) => !exclude.has(slot) && slot.downUntil <= now();
  /** The usable backend with the most free slots (ties: the first listed), or undefined when all are busy. */
  const pick = (exclude: Set<Slot>): Slot | undefined => {
    let best: Slot | undefined;
    for (const slot of slots) {
      if (!usable(slot, exclude) || slot.active >= slot.concurrency) continue;
      if (!best || slot.concurrency - slot.active > best.concurrency - best.active) best = slot;
    }
    return best;
  };
  const noneLeft = (exclude: Set<Slot>) => slots.every((s) => !usable(s, exclude));
  const allFailed = () =>
    new BackendCrashedError(`all ${slots.length} attribution backends failed: ${slots.map((s) => `${s.member.name}: ${s.lastError ?? 'tried already'}`).join('; ')}`, []);

  const dispatch = () => {
    for (let i = 0; i < waiting.length; ) {
      const w = waiting[i];
      const slot = pick(w.exclude);
      if (slot) {
        waiting.splice(i, 1);
        slot.active++;
        w.grant(slot);
      } else if (noneLeft(w.exclude)) {
        waiting.splice(i, 1);
        w.fail(allFailed());
      } else i++;
    }
  };
  // A backend that is down comes back after downMs: waiters must be re-examined then, not only when a call ends.
  const recheck = (at: number) => setTimeout(dispatch, Math.max(0, at - now())).unref?.();

  /** A slot on a usable backend, taken (active counted) before this returns, so concurrent callers spread. */
  const acquire = (exclude: Set<Slot>, signal?: AbortSignal): Promise<Slot> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new BackendAbortError('pool'));
      const slot = pick(exclude);
      if (slot) {
        slot.active++;
        return resolve(slot);
      }
      if (noneLeft(exclude)) return reject(allFailed());
      const waiter: Waiter = {
        exclude,
        signal,
        grant: (s) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        const at = waiting.indexOf(waiter);
        if (at >= 0) waiting.splice(at, 1);
        reject(new BackendAbortError('pool'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(waiter);
    });

  /** Runs `work` on one backend's model, moving to another backend when that one fails. */
  async function run<T>(dir: string, device: DeviceChoice, signal: AbortSignal | undefined, work: (model: LocalModel) => Promise<T>): Promise<T> {
    const tried = new Set<Slot>();
    for (;;) {
      const slot = await acquire(tried, signal);
      try {
        const model = await slot.models.model(dir, device, signal);
        return await work(model);
      } catch (err) {
        if (signal?.aborted || !isBackendFailure(err)) throw err;
        tried.add(slot);
        slot.lastError = err instanceof Error ? err.message.split('\n')[0] : String(err);
        slot.downUntil = now() + downMs;
        recheck(slot.downUntil);
        options.onFailover?.({ backend: slot.member.name, error: slot.lastError });
      } finally {
        slot.active--;
        dispatch();
      }
    }
  }

  const loaded = new Map<string, Promise<LocalModel>>();
  const open = (dir: string, device: DeviceChoice, signal?: AbortSignal): Promise<LocalModel> => {
    const key = `${dir}\0${device}`;
    let model = loaded.get(key);
    if (!model) {
      model = run(dir, device, signal, async (m) => m.info).then((info): LocalModel => {
        const on = <T>(work: (m: LocalModel) => Promise<T>, s?: AbortSignal) => run(dir, device, s, work);
        return {
          info,
          encode: (text, add, s) => on((m) => m.encode(text, add, s), s),
          encodeSegments: (segments, add, s) => on((m) => m.encodeSegments(segments, add, s), s),
          renderChat: (messages, add, s) => on((m) => m.renderChat(messages, add, s), s),
          attribute: (request, s) => on((m) => m.attribute(request, s), s),
          generate: (ids, o, s) => on((m) => m.generate(ids, o, s), s),
        };
      });
      loaded.set(key, model);
      model.catch(() => loaded.delete(key));
    }
    return model;
  };

  return {
    model: open,
    async dispose() {
      for (const w of waiting.splice(0)) w.fail(new Error('the backend pool was disposed'));
      if (options.ownsClients !== false) await Promise.allSettled(members.map((m) => m.client.dispose()));
    },
  };
}
