/**
 * Hosts leaving the fleet: those removed by `tcpfleet host rm` (another process, recorded in
 * host_removals) are dropped from the in-memory fleet within one poll, and with
 * `serve --forget-after` hosts silent for longer lose their latest row (their history stays until
 * retention) in bounded steps.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Fleet } from './fleet.js';
import { pollEvery } from '../ingest/poll.js';

/** Options of the removal watch. */
export interface HostRemovalOptions {
  store: Store;
  fleet: Fleet;
  log: Logger;
  /** Forget hosts silent for longer than this (ms); 0: never. */
  forgetAfterMs: number;
  /** Forgetting is a singleton job: only while this collector leads (default: always). */
  isLeader?: () => boolean;
  /** How often removals by other processes are looked for (ms). */
  pollMs?: number;
  /** Hosts forgotten per pass at most (each is one small transaction). */
  perPass?: number;
}

/** Starts the watch and the forgetting job; resolves once the removals already recorded are skipped. */
export async function watchHostRemovals(o: HostRemovalOptions): Promise<() => void> {
  const log = o.log.child({ component: 'host-removals' });
  // Removals made before this start are already reflected in what the fleet loaded.
  let lastId = (await o.store.removalsSince(0, Number.MAX_SAFE_INTEGER)).at(-1)?.id ?? 0;
  const poll = async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const batch = await o.store.removalsSince(lastId, 1000);
      for (const r of batch) {
        lastId = r.id;
        if (o.fleet.forget(r.host, r.at)) log.info({ host: r.host, purged: r.purged }, 'host removed');
      }
      if (batch.length < 1000) return;
    }
  };
  const forget = async (now: number): Promise<void> => {
    const before = now - o.forgetAfterMs;
    for (const host of o.fleet.silentSince(before, o.perPass ?? 500)) {
      const r = await o.store.removeHost(host, { purge: false, now, silentBefore: before });
      if (r.found && o.fleet.forget(host, before)) log.info({ host, silentForMs: o.forgetAfterMs }, 'host forgotten: silent for longer than --forget-after');
    }
  };
  const pollMs = o.pollMs ?? 2000;
  const forgetEvery = o.forgetAfterMs > 0 ? Math.min(60_000, Math.max(pollMs, Math.floor(o.forgetAfterMs / 4))) : Infinity;
  let lastForget = Date.now();
  return pollEvery(
    pollMs,
    async () => {
      const now = Date.now();
      if (now - lastForget >= forgetEvery && (o.isLeader?.() ?? true)) {
        lastForget = now;
        await forget(now);
      }
      await poll();
    },
    (err) => log.warn({ err }, 'host removal pass failed'),
  );
}
