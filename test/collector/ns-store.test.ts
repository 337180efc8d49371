/**
 * Per-namespace series in a real SQLite file (issue 10, storage): each entry of a snapshot's
 * `namespaces` stored as its own series keyed by (host, netns) with its container identity,
 * in the host's transaction (all or nothing, idempotent on (host, boot, seq)); the latest set,
 * history in pages, rollups and retention, host removal, db stats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { RollupJob, HOUR, MINUTE } from '../../packages/collector/src/store/rollups.js';
import { NsHistoryReader } from '../../packages/collector/src/store/ns-history.js';
import type { NsHistoryRow } from '../../packages/collector/src/store/ns-history.js';
import pino from 'pino';
import { ThreadedStore } from '../../packages/collector/src/store/write-thread.js';
import { synthNamespace, synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NOW = Date.UTC(2026, 10, 20, 12, 0, 30);
const POD = { runtime: 'containerd' as const, id: 'ab'.repeat(32), pod_uid: '1f2e3d4c-5b6a-4789-8abc-def012345678', pod: 'shop-1', namespace: 'shop', name: 'nginx', other_ids: ['cd'.repeat(32)] };
const DOCKER = { runtime: 'docker' as const, id: 'ef'.repeat(32), name: 'redis' };

function setup(): SqliteStore {
  const t = tempDir('ns-store');
  const store = new SqliteStore({ path: join(t.dir, 'db.sqlite'), durability: 'normal' });
  cleanups.push(t.cleanup, () => store.close());
  return store;
}

const count = (store: SqliteStore, table: string): number => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

/** A snapshot of `host` carrying `entries`. */
function withNs(host: string, ts: number, seq: number, entries: NamespaceEntry[]): Snapshot {
  return { ...synthSnapshot(host, ts, seq, seq), namespaces: entries };
}

describe('namespace series storage', () => {
  it('stores every entry as its own series; latest() gives the entries back as sent; a replay stores nothing twice', async () => {
    const store = setup();
    const entries = [synthNamespace(4026532463, 3, POD), synthNamespace(4026532500, 8, DOCKER), synthNamespace(4026532600, 14, null)];
    const snap = withNs('node-1', NOW - 20_000, 1, entries);
    expect(await store.ingest([{ host: 'node-1', labels: {}, snapshots: [snap] }], NOW)).toEqual([{ stored: 1, duplicates: 0 }]);
    const [latest] = await store.latest();
    expect(latest?.namespaces).toEqual(entries);
    expect(count(store, 'ns_snapshots')).toBe(3);
    expect((await store.namespaceSeries('node-1')).map((s) => [s.netns, s.container])).toEqual([
      [4026532463, POD],
      [4026532500, DOCKER],
      [4026532600, null],
    ]);
    // The same batch again (an agent replaying its outbox): a duplicate, no namespace row twice.
    expect(await store.ingest([{ host: 'node-1', labels: {}, snapshots: [snap] }], NOW + 1)).toEqual([{ stored: 0, duplicates: 1 }]);
    expect(count(store, 'ns_snapshots')).toBe(3);
    const hist = await store.namespaceHistory('node-1', 4026532500, 0, NOW, 100);
    expect(hist).toEqual([{ host: 'node-1', ts: snap.ts, seq: 1, boot: snap.boot, recv_ts: NOW, ...entries[1] }]);
    expect(await store.namespaceHistory('node-1', 1, 0, NOW, 100)).toEqual([]);
    expect(await store.namespaceSeries('nobody')).toEqual([]);
  });

  it("the latest set follows the host's newest snapshot; a vanished namespace keeps its history; an older snapshot changes nothing", async () => {
    const store = setup();
    const a = synthNamespace(11, 1, DOCKER);
    const b = synthNamespace(12, 2, null);
    const c = synthNamespace(13, 3, POD);
    await store.ingest([{ host: 'h', labels: {}, snapshots: [withNs('h', NOW - 30_000, 1, [a, b]), withNs('h', NOW - 20_000, 2, [a, c])] }], NOW);
    expect((await store.latest())[0]?.namespaces?.map((e) => e.netns)).toEqual([11, 13]);
    // A late snapshot older than the latest: history, not latest.
    await store.ingest([{ host: 'h', labels: {}, snapshots: [withNs('h', NOW - 40_000, 3, [b])] }], NOW);
    expect((await store.latest())[0]?.namespaces?.map((e) => e.netns)).toEqual([11, 13]);
    expect((await store.namespaceHistory('h', 12, 0, NOW, 10)).map((r) => r.seq)).toEqual([3, 1]);
    // A snapshot without namespaces empties the latest set (its agent stopped --namespaces).
    await store.ingest([{ host: 'h', labels: {}, snapshots: [synthSnapshot('h', NOW - 10_000, 4, 4)] }], NOW);
    expect((await store.latest())[0]?.namespaces).toBeUndefined();
    expect(count(store, 'ns_latest')).toBe(0);
    expect(count(store, 'ns_snapshots')).toBe(5);
  });

  it('all or nothing: a batch with a namespace entry SQLite refuses stores nothing of any host, and the store goes on', async () => {
    const store = setup();
    const bad = { ...synthNamespace(1, 1), netns: 1.5 };
    const items = [
      { host: 'good', labels: {}, snapshots: [withNs('good', NOW - 10_000, 1, [synthNamespace(7, 7)])] },
      { host: 'bad', labels: {}, snapshots: [withNs('bad', NOW - 10_000, 1, [bad])] },
    ];
    await expect(store.ingest(items, NOW)).rejects.toThrow(/cannot store batch/);
    for (const t of ['hosts', 'snapshots', 'latest', 'ns_snapshots', 'ns_latest', 'ns_series']) expect(count(store, t)).toBe(0);
    await store.ingest([items[0]!], NOW);
    expect(count(store, 'ns_snapshots')).toBe(1);
    expect((await store.namespaceSeries('good')).length).toBe(1);
  });

  it('rolls namespaces into 1m and 1h rows, prunes their raw rows once rolled and expired, answers history across the boundary', async () => {
    const store = setup();
    const start = NOW - 3 * HOUR;
    const snaps: Snapshot[] = [];
    let seq = 1;
    for (let ts = start; ts < NOW - MINUTE; ts += 10_000, seq++) snaps.push(withNs('n1', ts, seq, [synthNamespace(21, seq, DOCKER), synthNamespace(22, seq * 3, null)]));
    for (let i = 0; i < snaps.length; i += 500) await store.ingest([{ host: 'n1', labels: {}, snapshots: snaps.slice(i, i + 500) }], NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: HOUR, now: () => NOW, pruneBatch: 37, hostsPerSlice: 1 });
    await job.runOnce();
    // Every closed minute of each namespace has its row; its last value is the minute's last entry.
    const minutes = store.db.prepare('SELECT bucket, last_ts FROM ns_rollup_1m WHERE netns = 21 ORDER BY bucket').all() as { bucket: number; last_ts: number }[];
    const closed = Math.floor((NOW - 2 * MINUTE) / MINUTE) * MINUTE;
    const first = Math.floor(start / MINUTE) * MINUTE;
    expect(minutes[0]?.bucket).toBe(first);
    expect(minutes.at(-1)?.bucket).toBe(closed - MINUTE);
    expect(minutes.length).toBe((closed - first) / MINUTE);
    expect(minutes.at(-1)?.last_ts).toBe(snaps.filter((s) => s.ts < closed).at(-1)?.ts);
    expect(count(store, 'ns_rollup_1h')).toBe(2 * 2); // two closed hours of each of two namespaces
    // Raw rows older than the retention are gone (rolled first), newer ones all there.
    const oldest = (store.db.prepare('SELECT min(ts) AS t FROM ns_snapshots').get() as { t: number }).t;
    expect(oldest).toBeGreaterThanOrEqual(NOW - HOUR);
    expect(job.stats.nsPruned).toBe(snaps.filter((s) => s.ts < NOW - HOUR).length * 2);

    // History of one namespace from 2 h ago: one-minute rows up to where they are rolled, then raw.
    const reader = new NsHistoryReader(store.db, store, HOUR);
    const { resolution, page } = reader.historyPage('n1', 22, NOW - 2 * HOUR, NOW, 100_000, NOW, null);
    expect(resolution).toBe('1m');
    const rows: NsHistoryRow[] = [];
    for (let got = page.read(500); got.length > 0; got = page.read(500)) rows.push(...got);
    const rolled = rows.filter((r) => 'resolution' in r);
    const raw = rows.filter((r) => !('resolution' in r));
    expect(rolled.length).toBe((closed - (NOW - 2 * HOUR - 30_000)) / MINUTE);
    expect(raw.length).toBe(snaps.filter((s) => s.ts >= closed).length);
    // A minute's row holds the last entry of the minute (states, summary), as for hosts.
    const lastOfMinute = snaps.filter((s) => s.ts < closed).at(-1)!;
    expect(rolled.at(-1)?.states).toEqual(lastOfMinute.namespaces![1]!.states);
    expect(rolled.every((r) => r.netns === 22 && r.container === null)).toBe(true);
    expect(raw.map((r) => r.ts)).toEqual(snaps.filter((s) => s.ts >= closed).map((s) => s.ts));
  });

  it('host rm drops the latest entries and keeps history; --purge deletes every namespace row; db stats counts them', async () => {
    const store = setup();
    await store.ingest([{ host: 'a', labels: {}, snapshots: [withNs('a', NOW - 10_000, 1, [synthNamespace(1, 1), synthNamespace(2, 2)])] }], NOW);
    await store.ingest([{ host: 'b', labels: {}, snapshots: [withNs('b', NOW - 10_000, 1, [synthNamespace(1, 3)])] }], NOW);
    const stats = await store.stats();
    expect(stats.resolutions.find((r) => r.resolution === 'ns_raw')).toMatchObject({ table: 'ns_snapshots', rows: 3, oldest: NOW - 10_000, newest: NOW - 10_000, rolled_until: null });
    expect(count(store, 'ns_latest')).toBe(3);
    expect(count(store, 'ns_series')).toBe(3);

    const kept = await store.removeHost('a', { purge: false, now: NOW });
    expect(kept).toMatchObject({ found: true, latest: 1, namespaces: 2 });
    expect(count(store, 'ns_latest')).toBe(1);
    expect((await store.namespaceHistory('a', 2, 0, NOW, 10)).length).toBe(1);

    const purged = await store.removeHost('a', { purge: true, now: NOW });
    expect(purged).toMatchObject({ found: true, snapshots: 1, namespaces: 2 });
    expect(await store.namespaceSeries('a')).toEqual([]);
    // Host b's series are untouched.
    expect(count(store, 'ns_snapshots')).toBe(1);
    expect((await store.namespaceSeries('b')).length).toBe(1);
    // After a purge the host comes back as new: its namespaces are stored again.
    await store.ingest([{ host: 'a', labels: {}, snapshots: [withNs('a', NOW, 2, [synthNamespace(1, 5)])] }], NOW + 1);
    expect((await store.latest()).find((s) => s.host === 'a')?.namespaces?.length).toBe(1);
  });

  it('through the write thread (the collector default): the same rows as the same-thread store', async () => {
    const t = tempDir('ns-store-thread');
    const opts = { path: join(t.dir, 'db.sqlite'), busyTimeoutMs: 200 };
    const main = new SqliteStore(opts);
    const threaded = new ThreadedStore(main, { store: opts, logLevel: 'silent' }, pino({ level: 'silent' }));
    cleanups.push(t.cleanup, () => threaded.close());
    const direct = setup();
    const batches = [1, 2, 3].map((seq) => [{ host: 'w', labels: {}, snapshots: [withNs('w', NOW - (4 - seq) * 10_000, seq, [synthNamespace(5, seq, DOCKER), synthNamespace(6, seq * 2, POD)])] }]);
    for (const b of batches) {
      expect(await threaded.ingest(b, NOW)).toEqual(await direct.ingest(b, NOW));
    }
    expect(await threaded.latest()).toEqual(await direct.latest());
    expect(await threaded.namespaceHistory('w', 6, 0, NOW, 10)).toEqual(await direct.namespaceHistory('w', 6, 0, NOW, 10));
    expect((await threaded.namespaceHistory('w', 6, 0, NOW, 10)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await threaded.namespaceSeries('w')).toEqual(await direct.namespaceSeries('w'));
  });

  it('per-namespace write cost: a 100-namespace snapshot against one without (figure printed)', async () => {
    const store = setup();
    const entries = Array.from({ length: 100 }, (_, i) => synthNamespace(4026532000 + i, i + 1, i % 2 === 0 ? { ...DOCKER, id: i.toString(16).padStart(64, '0') } : null));
    let seq = 0;
    const run = async (host: string, ns: NamespaceEntry[] | undefined, n: number): Promise<number> => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        seq++;
        const s = synthSnapshot(host, NOW + seq * 10_000, seq, seq);
        await store.ingest([{ host, labels: {}, snapshots: [ns === undefined ? s : { ...s, namespaces: ns }] }], NOW + seq * 10_000);
      }
      return Number(process.hrtime.bigint() - t0) / 1e6 / n;
    };
    // Warm up both paths (JIT, statement caches, the series rows' first insert), then measure.
    await run('plain', undefined, 50);
    await run('node', entries, 50);
    const none = await run('plain', undefined, 300);
    const hundred = await run('node', entries, 300);
    console.log(
      `ingest per snapshot (one snapshot per transaction, synchronous=NORMAL): no namespaces ${none.toFixed(3)} ms, 100 namespaces ${hundred.toFixed(3)} ms (${((hundred - none) * 10).toFixed(1)} µs per namespace)`,
    );
    expect(count(store, 'ns_snapshots')).toBe(100 * 350);
  });
});
