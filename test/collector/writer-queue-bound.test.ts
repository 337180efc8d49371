/**
 * The write queue's bound by default (ingest/writer.ts maxQueued): what the commits in flight can
 * take, each full, so a standing backlog holds no more snapshots in the collector's memory than
 * the store is working on. SQLite through the real write thread (2 commits of at most 2,500) and
 * a real PostgreSQL server (4 commits of at most 1,250): both 5,000. Reads pause at the bound, not
 * before, and resume once the queue is back at half of it; every batch is stored once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '@tcpfleet/common';
import { IngestWriter, defaultInFlight, defaultPerCommit, defaultQueued } from '../../packages/collector/src/ingest/writer.js';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import type { IngestItem, Store } from '../../packages/collector/src/store/store.js';
import { createLogger } from '../../packages/collector/src/log.js';
import { usePostgres } from '../helpers/postgres.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const log = createLogger('silent');
const pgServer = usePostgres();
const NOW = Date.now();
const PER_BATCH = 100;
const item = (host: string): IngestItem => ({
  host,
  labels: { role: 'test' },
  snapshots: Array.from({ length: PER_BATCH }, (_, i): Snapshot => synthSnapshot(host, NOW - 600_000 + i * 1000, i + 1, i)),
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Submits batches of PER_BATCH snapshots until the writer reports pressure (bounded); checks the bound, the commit sizes and the resume. */
async function fillToBound(store: Store, perCommit: number): Promise<void> {
  const events: [boolean, number][] = [];
  const commitSizes: number[] = [];
  let writer: IngestWriter | null = null;
  writer = new IngestWriter({
    store,
    log,
    onPressure: (full) => events.push([full, writer?.queued ?? -1]),
    onCommitted: (items) => commitSizes.push(items.reduce((a, i) => a + i.snapshots.length, 0)),
  });
  expect(writer.maxQueued).toBe(5000);
  const all: Promise<unknown>[] = [];
  for (let h = 0; h < 200 && events.length === 0; h++) all.push(writer.submit(item(`${store.driver}-b${h}`)));
  // Paused exactly when the queue reached its bound: not one batch earlier.
  expect(all.length).toBe(5000 / PER_BATCH);
  expect(events).toEqual([[true, 5000]]);
  const outcomes = (await Promise.all(all)) as { stored: number }[];
  expect(outcomes.every((o) => o.stored === PER_BATCH)).toBe(true);
  await writer.drain();
  // Resumed once the commits brought the queue back to half the bound.
  expect(events.length).toBe(2);
  expect(events[1]![0]).toBe(false);
  expect(events[1]![1]).toBeLessThanOrEqual(2500);
  expect(commitSizes.reduce((a, n) => a + n, 0)).toBe(5000);
  expect(Math.max(...commitSizes)).toBeLessThanOrEqual(perCommit);
  expect(writer.queued).toBe(0);
}

describe('write queue bound', () => {
  it('is the commits in flight times the snapshots per commit: 5,000 on both stores', () => {
    expect(defaultQueued(2, 2500)).toBe(5000);
    expect(defaultQueued(4, 1250)).toBe(5000);
  });

  it('SQLite (write thread): pauses at 5,000 queued snapshots, commits of at most 2,500, resumes at half', async () => {
    const t = tempDir('queue-bound');
    cleanups.push(t.cleanup);
    const opts = { path: `${t.dir}/q.db` };
    const store = new ThreadedStore(new SqliteStore(opts), { store: opts, logLevel: 'silent' }, log);
    cleanups.push(() => store.close());
    expect([defaultInFlight(store), defaultPerCommit(store)]).toEqual([2, 2500]);
    await fillToBound(store, 2500);
  }, 60_000);

  it('PostgreSQL: pauses at 5,000 queued snapshots, commits of at most 1,250, resumes at half', async () => {
    const store = await PgStore.open(await pgServer().createDatabase('queue_bound'));
    cleanups.push(() => store.close());
    expect([defaultInFlight(store), defaultPerCommit(store)]).toEqual([4, 1250]);
    await fillToBound(store, 1250);
  }, 60_000);
});

describe('commit sinks', () => {
  it('a sink that throws when told leaves the other batches of its commit acknowledged and the queue counted once', async () => {
    const tmp = tempDir('sinks');
    const store = new SqliteStore({ path: `${tmp.dir}/t.db` });
    cleanups.push(async () => {
      await store.close();
      tmp.cleanup();
    });
    const writer = new IngestWriter({ store, log, windowMs: 50 });
    const told: string[] = [];
    const sink = (name: string, throws: boolean) => ({
      committed: (id: number, o: { stored: number }) => {
        told.push(`${name} ${id} committed ${o.stored}`);
        if (throws) throw new Error('socket gone');
      },
      failed: (id: number) => told.push(`${name} ${id} failed`),
    });
    // Queued within the commit window: one commit for the three batches.
    writer.enqueue(item('s-a'), sink('a', false), 1);
    writer.enqueue(item('s-b'), sink('b', true), 2);
    writer.enqueue(item('s-c'), sink('c', false), 3);
    await writer.drain();
    expect(told).toEqual([`a 1 committed ${PER_BATCH}`, `b 2 committed ${PER_BATCH}`, `c 3 committed ${PER_BATCH}`]);
    expect(writer.queued).toBe(0);
    expect(writer.stats.commits).toBe(1);
  });
});
