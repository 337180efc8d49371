/**
 * The ingest writer runs several commits at once (ingest/writer.ts maxInFlight), on a real
 * PostgreSQL server (a throwaway cluster) through the real PgStore: a commit held by a row lock
 * does not hold back another host's batches, which commit and are acknowledged beside it; a
 * later batch of the held host waits for the held commit to end, so a host's batches are stored
 * in order; the held commit fails alone (lock timeout: every batch in it refused as retryable,
 * the other commit's batches acknowledged); a batch sent again is a duplicate, not a second row.
 * And on SQLite through the write thread: two commits in flight, every batch stored once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Snapshot } from '@tcpfleet/common';
import { IngestWriter } from '../../packages/collector/src/ingest/writer.js';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { StorageError } from '../../packages/collector/src/store/storage-error.js';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import type { IngestItem, IngestOutcome, Store } from '../../packages/collector/src/store/store.js';
import { createLogger } from '../../packages/collector/src/log.js';
import { usePostgres } from '../helpers/postgres.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir, waitFor } from '../helpers/procs.js';

const log = createLogger('silent');
const pgServer = usePostgres();
const NOW = Date.now();
const item = (host: string, seqs: number[]): IngestItem => ({
  host,
  labels: { role: 'test' },
  snapshots: seqs.map((s): Snapshot => synthSnapshot(host, NOW - 60_000 + s * 1000, s, s)),
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The order in which submitted batches settled: `name:ok` or `name:refused`. */
function recorder(): { settled: string[]; track: (name: string, p: Promise<IngestOutcome>) => Promise<unknown> } {
  const settled: string[] = [];
  return {
    settled,
    track: (name, p) =>
      p.then(
        (o) => {
          settled.push(`${name}:ok`);
          return o;
        },
        (err: unknown) => {
          settled.push(`${name}:refused`);
          return err;
        },
      ),
  };
}

describe('ingest writer with several commits in flight', () => {
  it('PostgreSQL: a held commit fails alone, another host commits beside it, the held host stays in order, a resend is a duplicate', async () => {
    const url = await pgServer().createDatabase('writer_in_flight');
    // Lock waits end after 1.5 s (lock_timeout follows the statement timeout): the held commit fails.
    const store = await PgStore.open(url, { statementTimeoutMs: 1500 });
    cleanups.push(() => store.close());
    const writer = new IngestWriter({ store, log, windowMs: 1, maxInFlight: 2 });
    expect(await writer.submit(item('held', [1]))).toEqual({ stored: 1, duplicates: 0 });

    // Another session holds the latest row of `held` (as a slow commit of another collector would;
    // every commit with a newer snapshot rewrites it, while the host row is rewritten only every
    // hostSeenStepMs).
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query("SELECT 1 FROM latest WHERE host = 'held' FOR UPDATE");

    const { settled, track } = recorder();
    // The lock goes once commit 1 was refused: b (queued behind it) then finds the row free.
    const a = track('a', writer.submit(item('held', [2, 3]))).then(async (r) => {
      await locker.query('ROLLBACK');
      return r;
    });
    // Commit 1 (held: a) is waiting for the lock; b (same host) must wait for it, c may go beside it.
    await waitFor(() => writer.inFlight === 1, 'the held commit in flight', 5000);
    const b = track('b', writer.submit(item('held', [4])));
    const c = track('c', writer.submit(item('free', [1, 2])));
    expect(await c).toEqual({ stored: 2, duplicates: 0 });
    expect(settled).toEqual(['c:ok']);
    expect(writer.stats.maxInFlight).toBe(2);

    // The held commit times out: refused as retryable; only then does b commit.
    const errA = await a;
    expect(errA).toBeInstanceOf(StorageError);
    expect((errA as StorageError).retryable).toBe(true);
    expect(await b).toEqual({ stored: 1, duplicates: 0 });
    expect(settled).toEqual(['c:ok', 'a:refused', 'b:ok']);

    // The agent sends a again (it was refused): stored now; c again: duplicates only.
    expect(await writer.submit(item('held', [2, 3]))).toEqual({ stored: 2, duplicates: 0 });
    expect(await writer.submit(item('free', [1, 2]))).toEqual({ stored: 0, duplicates: 2 });
    const rows = await store.db.query<{ host: string; seqs: string }>(
      "SELECT host, string_agg(seq::text, ',' ORDER BY seq) AS seqs FROM snapshots WHERE host IN ('held', 'free') GROUP BY host ORDER BY host",
    );
    expect(rows).toEqual([
      { host: 'free', seqs: '1,2' },
      { host: 'held', seqs: '1,2,3,4' },
    ]);
    // The latest row is each host's newest snapshot whatever order the commits ended in.
    const latest = await store.db.query<{ host: string; seq: number }>("SELECT host, seq::int AS seq FROM latest WHERE host IN ('held', 'free') ORDER BY host");
    expect(latest).toEqual([
      { host: 'free', seq: 2 },
      { host: 'held', seq: 4 },
    ]);
  }, 60_000);

  it('a backlog from many hosts goes in commits side by side, each batch stored once and acknowledged in its host order (PostgreSQL and SQLite)', async () => {
    const t = tempDir('writer-in-flight');
    cleanups.push(() => t.cleanup());
    const opts = { path: `${t.dir}/w.db` };
    const stores: [string, Store, () => Promise<number>][] = [];
    const pgStore = await PgStore.open(await pgServer().createDatabase('writer_backlog'));
    cleanups.push(() => pgStore.close());
    stores.push(['postgres', pgStore, async () => Number((await pgStore.db.query<{ n: string }>('SELECT count(*) AS n FROM snapshots'))[0]?.n)]);
    const sqlite = new ThreadedStore(new SqliteStore(opts), { store: opts, logLevel: 'silent' }, log);
    cleanups.push(() => sqlite.close());
    stores.push(['sqlite', sqlite, () => Promise.resolve((sqlite.db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n)]);
    for (const [name, store, count] of stores) {
      // Small commits so a backlog takes several: 40 hosts x 5 batches of 2 snapshots.
      const writer = new IngestWriter({ store, log, windowMs: 1, maxPerCommit: 16, maxSnapshots: 8, maxInFlight: 2 });
      const order = new Map<string, number[]>();
      const all: Promise<void>[] = [];
      for (let round = 0; round < 5; round++)
        for (let h = 0; h < 40; h++) {
          const host = `${name}-h${h}`;
          const seq = round * 2 + 1;
          all.push(
            writer.submit(item(host, [seq, seq + 1])).then((o) => {
              expect(o).toEqual({ stored: 2, duplicates: 0 });
              order.set(host, [...(order.get(host) ?? []), seq]);
            }),
          );
        }
      await Promise.all(all);
      expect(writer.stats.maxInFlight, name).toBe(2);
      expect(writer.stats.commits, name).toBeGreaterThanOrEqual(400 / 16);
      for (const [host, seqs] of order) expect(seqs, host).toEqual([1, 3, 5, 7, 9]);
      expect(await count(), name).toBe(400);
      // Everything again: duplicates only.
      const again = await Promise.all(Array.from({ length: 40 }, (_, h) => writer.submit(item(`${name}-h${h}`, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))));
      expect(
        again.every((o) => o.stored === 0 && o.duplicates === 10),
        name,
      ).toBe(true);
      expect(await count(), name).toBe(400);
      await writer.drain();
      expect(writer.queued, name).toBe(0);
    }
  }, 60_000);

  it('PostgreSQL defaults: a backlog of 5,000 snapshots goes as commits of at most 1,250, several at once', async () => {
    const store = await PgStore.open(await pgServer().createDatabase('writer_defaults'));
    cleanups.push(() => store.close());
    const writer = new IngestWriter({ store, log });
    const seqs = Array.from({ length: 125 }, (_, i) => i + 1);
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, h) => writer.submit(item(`d${h}`, seqs))));
    expect(outcomes.every((o) => o.stored === 125)).toBe(true);
    expect(writer.stats.commits).toBeGreaterThanOrEqual(4);
    expect(writer.stats.maxInFlight).toBeGreaterThan(1);
    expect(writer.stats.maxInFlight).toBeLessThanOrEqual(4);
  }, 60_000);
});
