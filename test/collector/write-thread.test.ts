/**
 * The write thread (store/write-thread.ts) on real SQLite files: what it stores is what the
 * same-thread store stores, for JSON and bin1 snapshots alike; a locked database comes back as a
 * retryable StorageError; gaps go through the same thread after the batches before them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Bin1Decoder, Bin1Encoder } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { SqliteStore, StorageError } from '../../packages/collector/src/store/sqlite-store.js';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import { fixtureSnapshot, synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function open(name: string): { path: string; threaded: ThreadedStore; main: SqliteStore } {
  const t = tempDir('write-thread');
  const path = `${t.dir}/${name}.db`;
  const opts = { path, busyTimeoutMs: 200 };
  const main = new SqliteStore(opts);
  const threaded = new ThreadedStore(main, { store: opts, logLevel: 'silent' }, pino({ level: 'silent' }));
  cleanups.push(
    () => t.cleanup(),
    () => threaded.close(),
  );
  return { path, threaded, main };
}

/** The snapshots as a bin1 session would decode them (PackedSnapshot objects). */
function packed(host: string, labels: Record<string, string>, snaps: Snapshot[]): Snapshot[] {
  return new Bin1Decoder().decode(new Bin1Encoder().encode(1, snaps)!, host, labels).snapshots;
}

const strip = (rows: unknown[]): unknown => JSON.parse(JSON.stringify(rows));

describe('write thread', () => {
  it('stores exactly what the same-thread store stores (JSON and bin1 snapshots, latest and history)', async () => {
    const a = open('threaded');
    const t2 = tempDir('write-thread');
    cleanups.push(() => t2.cleanup());
    const direct = new SqliteStore({ path: `${t2.dir}/direct.db` });
    cleanups.push(() => direct.close());
    const base = 1_795_000_000_000;
    const json = [1, 2, 3].map((seq) => ({
      ...fixtureSnapshot({ seq }),
      host: 'h-json',
      ts: base + seq * 1000,
      collect: { ms: 1.5, bytes: 10, skipped: 0, errors: seq === 2 ? ['net/tcp:2: bad'] : [], states_age_ms: 0 },
    }));
    const bin = packed(
      'h-bin',
      { env: 'test' },
      [1, 2, 3].map((seq) => ({ ...fixtureSnapshot({ seq }), host: 'h-bin', ts: base + seq * 1000, collect: { ms: 1.5, bytes: 10, skipped: 0, errors: [], states_age_ms: 0 } })),
    );
    const items = [
      { host: 'h-json', labels: { env: 'test' }, snapshots: json },
      { host: 'h-bin', labels: { env: 'test' }, snapshots: bin },
    ];
    const outT = await a.threaded.ingest(items, base + 5000);
    const outD = await direct.ingest(items, base + 5000);
    expect(outT).toEqual([
      { stored: 3, duplicates: 0 },
      { stored: 3, duplicates: 0 },
    ]);
    expect(outD).toEqual(outT);
    // Again: duplicates, nothing stored twice.
    expect(await a.threaded.ingest(items, base + 6000)).toEqual([
      { stored: 0, duplicates: 3 },
      { stored: 0, duplicates: 3 },
    ]);
    await direct.ingest(items, base + 6000);
    expect(strip(await a.threaded.latest())).toEqual(strip(await direct.latest()));
    for (const h of ['h-json', 'h-bin']) expect(strip(await a.threaded.history(h, 0, base + 10_000, 100))).toEqual(strip(await direct.history(h, 0, base + 10_000, 100)));
    const latestBin = (await a.threaded.latest()).find((s) => s.host === 'h-bin')!;
    expect(latestBin.breakdown).toEqual(fixtureSnapshot({ seq: 3 }).breakdown);
    expect(latestBin.snmp).toEqual(fixtureSnapshot({ seq: 3 }).snmp);
  });

  it('refuses a commit on a locked database as retryable, stores nothing of it, and stores the next one', async () => {
    const a = open('locked');
    const s = synthSnapshot('locked-host', 1_795_000_000_000, 1, 3);
    const lock = new Database(a.path);
    lock.exec('BEGIN IMMEDIATE');
    let err: unknown = null;
    try {
      await a.threaded.ingest([{ host: 'locked-host', labels: {}, snapshots: [s] }], Date.now());
    } catch (e) {
      err = e;
    }
    lock.exec('ROLLBACK');
    lock.close();
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).retryable).toBe(true);
    expect((err as StorageError).sqliteCode).toMatch(/^SQLITE_BUSY/);
    expect(await a.threaded.history('locked-host', 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect(await a.threaded.ingest([{ host: 'locked-host', labels: {}, snapshots: [s] }], Date.now())).toEqual([{ stored: 1, duplicates: 0 }]);
  });

  it('stores a gap after the batches sent before it (one thread, in order)', async () => {
    const a = open('gaps');
    const s = synthSnapshot('gap-host', 1_795_000_000_000, 1, 3);
    const stored = a.threaded.ingest([{ host: 'gap-host', labels: {}, snapshots: [s] }], 1_795_000_001_000);
    const gap = a.threaded.recordGap({ host: 'gap-host', boot: s.boot, from_seq: 2, to_seq: 9, count: 8, ts: 1_795_000_002_000, recv_ts: 1_795_000_002_000 });
    await Promise.all([stored, gap]);
    expect(await a.threaded.gaps('gap-host', 0)).toEqual([{ host: 'gap-host', boot: s.boot, from_seq: 2, to_seq: 9, count: 8, ts: 1_795_000_002_000, recv_ts: 1_795_000_002_000 }]);
  });
});

describe('page caches', () => {
  it("the main thread's connection keeps a small page cache when the write thread writes; a store that writes itself keeps 64 MiB", async () => {
    const { openStore, MAIN_CACHE_KIB } = await import('../../packages/collector/src/store/open-store.js');
    const t = tempDir('write-thread');
    cleanups.push(() => t.cleanup());
    const threaded = await openStore(`${t.dir}/threaded.db`, { log: pino({ level: 'silent' }), writeThread: { rawRetentionMs: 3_600_000, logLevel: 'silent' } });
    cleanups.push(() => threaded.close());
    if (!(threaded instanceof ThreadedStore)) throw new Error('openStore with a write thread did not give a ThreadedStore');
    expect(threaded.db.pragma('cache_size', { simple: true })).toBe(-MAIN_CACHE_KIB);
    const alone = await openStore(`${t.dir}/alone.db`, { log: pino({ level: 'silent' }) });
    cleanups.push(() => alone.close());
    if (!(alone instanceof SqliteStore)) throw new Error('openStore without a write thread did not give a SqliteStore');
    expect(alone.db.pragma('cache_size', { simple: true })).toBe(-65536);
  });
});
