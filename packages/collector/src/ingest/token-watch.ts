/**
 * Ends sessions whose token stopped being valid for their host. Every batch is checked inside its
 * commit (store/store.ts WriteAuth), so a revoked or replaced token stores nothing once the
 * command returned; this poll also closes the sessions that are idle, within one period.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { CollectorServer } from './server.js';
import { pollEvery } from './poll.js';

/** Starts the poll; returns its stop function. */
export function watchTokens(store: Store, server: () => CollectorServer | null, log: Logger, everyMs = 2000): () => void {
  return pollEvery(
    everyMs,
    async () => {
      const s = server();
      if (s === null) return;
      const readAt = Date.now();
      const live = await store.liveTokens();
      for (const host of s.closeInvalidTokens(live, readAt)) log.warn({ host }, 'token no longer valid for this host; session closed');
    },
    (err) => log.warn({ err }, 'cannot read tokens'),
  );
}
