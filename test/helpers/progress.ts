/**
 * Waiting on the system's own progress instead of sleeping. A test that shows something did NOT
 * happen (no alert fired, no second notification) waits until the collector has stored and so
 * judged the samples that would have made it happen, read from its database: on a slow machine
 * the wait stretches with the system, on a fast one it ends early, and it is bounded either way.
 */
import { query } from './checker.js';
import { waitFor } from './procs.js';

/** What the collector has stored of one host: the newest sample time (ts, agent clock) and its row count. */
export function storedOf(db: string, host: string): { ts: number; rows: number } {
  const r = query<{ ts: number | null; n: number }>(db, 'SELECT max(s.ts) AS ts, count(*) AS n FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0];
  return { ts: r?.ts ?? 0, rows: r?.n ?? 0 };
}

/**
 * Waits (bounded) until the collector has stored a snapshot of `host` taken at or after `ts`
 * (sample time), and then `more` snapshots after that one. The alert engine judges each snapshot
 * right after its commit, so once a later one is stored every sample up to `ts` has been judged.
 */
export async function waitForSampleTime(db: string, host: string, ts: number, what: string, more = 1, timeoutMs = 30_000): Promise<void> {
  let reached = -1;
  await waitFor(
    () => {
      const s = storedOf(db, host);
      if (reached < 0 && s.ts >= ts) reached = s.rows;
      return reached >= 0 && s.rows >= reached + more;
    },
    what,
    timeoutMs,
    100,
  );
}

/** Waits (bounded) until the collector has stored `n` more snapshots of `host` than it holds now. */
export async function waitForMoreSnapshots(db: string, host: string, n: number, what: string, timeoutMs = 30_000): Promise<void> {
  const from = storedOf(db, host).rows;
  await waitFor(() => storedOf(db, host).rows >= from + n, what, timeoutMs, 100);
}
