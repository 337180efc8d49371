/**
 * The writing connection's page cache follows the `latest` table's size (store/write-cache.ts):
 * 16 MiB for a small fleet (the snapshots table's pages, written once, no longer fill 64 MiB), the
 * `latest` rows with room for a large one, never more than 64 MiB. On a real SQLite file written by
 * the store; the cache size read back from the connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { WRITE_CACHE_MAX_KIB, WRITE_CACHE_MIN_KIB, sizeWriteCache, writeCacheKib } from '../../packages/collector/src/store/write-cache.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the write connection page cache', () => {
  it('is 16 MiB at least, the latest rows with room, 64 MiB at most', () => {
    expect(writeCacheKib(0, 0)).toBe(WRITE_CACHE_MIN_KIB);
    // 10,000 hosts whose latest rows hold ~3 KB of values and breakdown (busy hosts' top-100 breakdowns).
    const big = writeCacheKib(10_000, 30_000_000);
    expect(big).toBeGreaterThan((10_000 * 3000) / 1024);
    expect(big).toBeLessThan(WRITE_CACHE_MAX_KIB);
    expect(writeCacheKib(100_000, 300_000_000)).toBe(WRITE_CACHE_MAX_KIB);
  });

  it("sizes a real store's connection from its latest table, now and when asked again", async () => {
    const t = tempDir('write-cache');
    const store = new SqliteStore({ path: `${t.dir}/c.db` });
    cleanups.push(
      () => t.cleanup(),
      () => store.close(),
    );
    const now = 1_795_000_000_000;
    const hosts = Array.from({ length: 2000 }, (_, i) => `h${i}`);
    await store.ingest(
      hosts.map((h, i) => ({ host: h, labels: {}, snapshots: [synthSnapshot(h, now, 1, i)] })),
      now,
    );
    const cache = sizeWriteCache(store.db, 60_000);
    cleanups.push(() => cache.stop());
    // 2,000 small rows: the floor.
    expect(store.db.pragma('cache_size', { simple: true })).toBe(-WRITE_CACHE_MIN_KIB);
    // Their breakdowns grow to 6 KB each (12 MB of latest rows): the cache follows.
    store.db.prepare('UPDATE latest SET breakdown = zeroblob(6000)').run();
    const { b } = store.db.prepare('SELECT sum(length(vals) + length(breakdown)) AS b FROM latest').get() as { b: number };
    const kib = cache.resize();
    expect(kib).toBe(writeCacheKib(2000, b));
    expect(kib).toBeGreaterThan(12_000_000 / 1024);
    expect(store.db.pragma('cache_size', { simple: true })).toBe(-kib);
  });
});
