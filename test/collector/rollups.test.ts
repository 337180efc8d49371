/**
 * Retention and rollups against a real SQLite file: raw snapshots rolled into one-minute and
 * one-hour rows, pruned once rolled and expired, and history answered continuously across the
 * raw -> rollup boundary.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TCP_STATES } from '@tcpfleet/common';
import { SqliteStore } from '../../packages/collector/src/store/sqlite-store.js';
import { RollupJob, MINUTE, HOUR } from '../../packages/collector/src/store/rollups.js';
import { RollupReader, pickResolution } from '../../packages/collector/src/store/rollup-history.js';
import type { RollupSnapshot } from '../../packages/collector/src/store/rollup-history.js';
import { collectDbStats } from '../../packages/collector/src/cli/db-stats.js';
import { synthSnapshot } from '../helpers/snapshots.js';
import { tempDir } from '../helpers/procs.js';
import type { Snapshot } from '@tcpfleet/common';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Now, on an hour boundary plus a bit, so buckets are easy to reason about. */
const NOW = Date.UTC(2026, 10, 20, 12, 0, 30);

function setup(): { store: SqliteStore; path: string } {
  const t = tempDir('rollups');
  const path = join(t.dir, 'db.sqlite');
  const store = new SqliteStore({ path, durability: 'normal' });
  cleanups.push(t.cleanup, () => store.close());
  return { store, path };
}

/** Stores `count` snapshots of each host every 10 s ending just before NOW. */
async function fill(store: SqliteStore, hosts: string[], start: number, end: number): Promise<Map<string, Snapshot[]>> {
  const all = new Map<string, Snapshot[]>();
  for (const h of hosts) {
    const snaps: Snapshot[] = [];
    let seq = 1;
    for (let ts = start; ts < end; ts += 10_000) snaps.push(synthSnapshot(h, ts, seq, seq++ * 7 + h.length));
    all.set(h, snaps);
    for (let i = 0; i < snaps.length; i += 500) await store.ingest([{ host: h, labels: { role: 'test' }, snapshots: snaps.slice(i, i + 500) }], end);
  }
  return all;
}

const countRaw = (store: SqliteStore): number => (store.db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n;

describe('rollups', () => {
  it("keeps a host's history continuous across the raw -> rollup boundary and prunes only rolled raw data", async () => {
    const { store } = setup();
    const start = NOW - 3 * HOUR;
    const data = await fill(store, ['web-1', 'web-22'], start, NOW);
    const rawBefore = countRaw(store);
    const job = new RollupJob(store.db, { rawRetentionMs: HOUR, now: () => NOW, pruneBatch: 37, hostsPerSlice: 1 });
    await job.runOnce();

    // Raw data older than the retention is gone, newer raw data is all there.
    const oldest = (store.db.prepare('SELECT min(ts) AS t FROM snapshots').get() as { t: number }).t;
    expect(oldest).toBeGreaterThanOrEqual(NOW - HOUR);
    const expectedKept = [...data.values()].flat().filter((s) => s.ts >= Math.min(NOW - HOUR, job.doneUntil('1m') ?? 0)).length;
    expect(countRaw(store)).toBe(expectedKept);
    expect(job.stats.rawPruned).toBe(rawBefore - expectedKept);
    // Small batches: many transactions, each within the batch size.
    expect(job.stats.slices).toBeGreaterThan((rawBefore - expectedKept) / 37);

    // A 3 h query starts before the raw retention: answered from one-minute rollups, then raw.
    const reader = new RollupReader(store.db, store, HOUR);
    const { resolution, rows } = await reader.history('web-1', start, NOW + 1, 100_000, NOW);
    expect(resolution).toBe('1m');
    const src0 = data.get('web-1')!;
    const rolled = rows.filter((r) => (r as Partial<RollupSnapshot>).resolution === '1m');
    const raw = rows.filter((r) => (r as Partial<RollupSnapshot>).resolution === undefined);
    expect(rolled.length).toBeGreaterThan(100);
    expect(raw).toHaveLength(src0.filter((s) => s.ts >= job.doneUntil('1m')!).length);
    expect(raw.length).toBeGreaterThan(5);
    // Continuous: strictly increasing, no step longer than one minute, rollups first then raw.
    for (let i = 1; i < rows.length; i++) {
      const step = rows[i]!.ts - rows[i - 1]!.ts;
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThanOrEqual(MINUTE);
    }
    expect(rows[0]!.ts).toBe(Math.floor(start / MINUTE) * MINUTE); // the minute that holds `since`
    expect(rows.at(-1)!.ts).toBe(data.get('web-1')!.at(-1)!.ts);
    expect(rolled.at(-1)!.ts + MINUTE).toBe(raw[0]!.ts);

    // Each one-minute row's last value is the last raw snapshot of that minute.
    const src = data.get('web-1')!;
    for (const r of rolled.slice(0, 20)) {
      const inMinute = src.filter((s) => s.ts >= r.ts && s.ts < r.ts + MINUTE);
      expect(r.states).toEqual(inMinute.at(-1)!.states);
      expect(r.ipv4).toEqual(inMinute.at(-1)!.ipv4);
      expect(r.ipv6).toEqual(inMinute.at(-1)!.ipv6);
      expect((r as RollupSnapshot).rollup.n).toBe(inMinute.length);
    }
  });

  it('totals from rollups equal totals from raw data for the same range, at 1m, 1h and fleet level', async () => {
    const { store } = setup();
    const start = NOW - 30_000 - 4 * HOUR; // an hour boundary
    const data = await fill(store, ['a', 'bb', 'ccc'], start, NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => NOW });
    await job.runOnce();
    expect(job.doneUntil('1m')).toBe(NOW - 30_000 - 2 * MINUTE);
    expect(job.doneUntil('1h')).toBe(NOW - 30_000 - HOUR);
    const lo = start;
    const hi = start + 3 * HOUR; // three closed hours
    for (const [host, snaps] of data) {
      const inRange = snaps.filter((s) => s.ts >= lo && s.ts < hi);
      const rawSum = (st: (typeof TCP_STATES)[number]): number => inRange.reduce((a, s) => a + s.states[st], 0);
      const rawMin = (st: (typeof TCP_STATES)[number]): number => Math.min(...inRange.map((s) => s.states[st]));
      const rawMax = (st: (typeof TCP_STATES)[number]): number => Math.max(...inRange.map((s) => s.states[st]));
      const reader = new RollupReader(store.db, store, 0, 0);
      // minuteRetention 0 forces one-hour rows for any range.
      const hours = (await reader.history(host, lo, hi, 1000, NOW)).rows as RollupSnapshot[];
      expect(hours.map((r) => r.resolution)).toEqual(['1h', '1h', '1h']);
      const minutesReader = new RollupReader(store.db, store, 0);
      const minutes = (await minutesReader.history(host, lo, hi, 1000, NOW)).rows as RollupSnapshot[];
      expect(minutes).toHaveLength(180);
      for (const st of TCP_STATES) {
        const fromHours = hours.reduce((a, r) => a + r.rollup.mean.states[st] * r.rollup.n, 0);
        const fromMinutes = minutes.reduce((a, r) => a + r.rollup.mean.states[st] * r.rollup.n, 0);
        expect(Math.round(fromHours)).toBe(rawSum(st));
        expect(Math.round(fromMinutes)).toBe(rawSum(st));
        expect(Math.min(...hours.map((r) => r.rollup.min.states[st]))).toBe(rawMin(st));
        expect(Math.max(...hours.map((r) => r.rollup.max.states[st]))).toBe(rawMax(st));
      }
      expect(hours.reduce((a, r) => a + r.rollup.n, 0)).toBe(inRange.length);
      const sumSummary = inRange.reduce((a, s) => a + s.summary.total, 0);
      expect(Math.round(hours.reduce((a, r) => a + r.rollup.mean.summary.total * r.rollup.n, 0))).toBe(sumSummary);
    }
    // Fleet one-minute sums: the sum over hosts of each host's last value in that minute.
    const reader = new RollupReader(store.db, store, 48 * HOUR);
    const fleet = reader.fleetHistory(lo, lo + 10 * MINUTE);
    expect(fleet).toHaveLength(10);
    for (const f of fleet) {
      expect(f.hosts).toBe(3);
      let est = 0;
      for (const snaps of data.values()) est += snaps.filter((s) => s.ts >= f.ts && s.ts < f.ts + MINUTE).at(-1)!.states.established;
      expect(f.states.established).toBe(est);
    }
  });

  it('rolls a minute again when a late snapshot arrives for it', async () => {
    const { store } = setup();
    const start = NOW - 30_000 - 30 * MINUTE; // a minute boundary
    await fill(store, ['late'], start, NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: 48 * HOUR, now: () => NOW });
    await job.runOnce();
    const reader = new RollupReader(store.db, store, 0);
    const before = (await reader.history('late', start, start + MINUTE, 10, NOW)).rows[0] as RollupSnapshot;
    expect(before.rollup.n).toBe(6);
    // A replayed snapshot from another boot lands in the first minute.
    const late = synthSnapshot('late', start + 5_000, 1, 999, '00000000-0000-4000-8000-000000000002');
    await store.ingest([{ host: 'late', labels: {}, snapshots: [late] }], NOW);
    job.noteCommitted('late', late.ts);
    await job.runOnce();
    const after = (await reader.history('late', start, start + MINUTE, 10, NOW)).rows[0] as RollupSnapshot;
    expect(after.rollup.n).toBe(7);
    expect(job.stats.dirtyRerolled).toBe(1);
    expect(reader.fleetHistory(start, start + MINUTE)[0]!.states.established).toBe(after.states.established);
  });

  it('prunes one-minute rows only once rolled into hours and past their retention', async () => {
    const { store } = setup();
    await fill(store, ['x'], NOW - 5 * HOUR, NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: HOUR, minuteRetentionMs: 2 * HOUR, hourRetentionMs: 4 * HOUR, now: () => NOW });
    await job.runOnce();
    const lo1m = (store.db.prepare('SELECT min(bucket) AS t FROM rollup_1m').get() as { t: number }).t;
    const lo1h = (store.db.prepare('SELECT min(bucket) AS t FROM rollup_1h').get() as { t: number }).t;
    expect(lo1m).toBeGreaterThanOrEqual(NOW - 2 * HOUR);
    expect(lo1m).toBeLessThan(NOW - 2 * HOUR + MINUTE);
    expect(lo1h).toBeGreaterThanOrEqual(NOW - 4 * HOUR);
    expect(job.stats.minutePruned).toBeGreaterThan(0);
    expect(job.stats.hourPruned).toBeGreaterThan(0);
    // The raw, 1m, 1h chain still covers the whole retained span without a hole.
    const reader = new RollupReader(store.db, store, HOUR, 2 * HOUR);
    const { resolution, rows } = await reader.history('x', NOW - 4 * HOUR, NOW, 100_000, NOW);
    expect(resolution).toBe('1h');
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.ts - rows[i - 1]!.ts).toBeLessThanOrEqual(HOUR);
    expect(rows.some((r) => (r as Partial<RollupSnapshot>).resolution === '1m')).toBe(true);
    expect(rows.at(-1)!.ts).toBeGreaterThan(NOW - MINUTE);
  });

  it('prunes many hosts per transaction, each transaction within pruneBatch rows', async () => {
    const { store } = setup();
    const hosts = Array.from({ length: 30 }, (_, i) => `p-${i}`);
    const data = await fill(store, hosts, NOW - 3 * HOUR, NOW);
    // Rolled first by a job that keeps all raw data, so the pass measured below only prunes.
    await new RollupJob(store.db, { rawRetentionMs: 1000 * 24 * HOUR, now: () => NOW }).runOnce();
    const rawBefore = countRaw(store);
    // Rows changed by each transaction the job runs (SQLite's total_changes around its body).
    const changes = (): number => (store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const perTx: number[] = [];
    const db = new Proxy(store.db, {
      get(target, key) {
        if (key === 'transaction')
          return (fn: (...a: unknown[]) => unknown) =>
            target.transaction((...a: unknown[]) => {
              const c0 = changes();
              const r = fn(...a);
              perTx.push(changes() - c0);
              return r;
            });
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const job = new RollupJob(db, { rawRetentionMs: HOUR, now: () => NOW, pruneBatch: 500, hostsPerSlice: 8 });
    await job.runOnce();
    const expectedKept = [...data.values()].flat().filter((s) => s.ts >= Math.min(NOW - HOUR, job.doneUntil('1m') ?? 0)).length;
    const pruned = rawBefore - expectedKept;
    expect(countRaw(store)).toBe(expectedKept);
    expect(job.stats.rawPruned).toBe(pruned);
    expect(pruned).toBeGreaterThan(30 * 600);
    expect(Math.max(...perTx)).toBeLessThanOrEqual(500);
    // Full transactions, a host's rows spread over several: about pruned / 500 of them, where one
    // transaction per host and table would be 210 with nothing to delete.
    expect(perTx.length).toBeLessThanOrEqual(Math.ceil(pruned / 500) + 30 / 8 + 2);
    // Nothing left to delete (a new job, same time: everything is rolled): one transaction per 8 hosts.
    perTx.length = 0;
    await new RollupJob(db, { rawRetentionMs: HOUR, now: () => NOW, pruneBatch: 500, hostsPerSlice: 8 }).runOnce();
    expect(perTx).toEqual([0, 0, 0, 0]);
  });

  it('lets other work run between slices (ingest never waits for a whole pass)', async () => {
    const { store } = setup();
    await fill(store, ['h1', 'h2', 'h3', 'h4'], NOW - 2 * HOUR, NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: 30 * MINUTE, now: () => NOW, hostsPerSlice: 1, pruneBatch: 50 });
    let ticks = 0;
    let ingested = 0;
    const pass = job.runOnce();
    // While the pass runs, commits of new snapshots go through between its slices.
    let done = false;
    void pass.then(() => (done = true));
    for (let i = 0; i < 10_000 && !done; i++) {
      await new Promise((r) => setImmediate(r));
      ticks++;
      if (ticks % 5 === 0) {
        await store.ingest([{ host: 'h1', labels: {}, snapshots: [synthSnapshot('h1', NOW + ticks, 10_000 + ticks, ticks)] }], NOW);
        ingested++;
      }
    }
    await pass;
    expect(ticks).toBeGreaterThan(20);
    expect(ingested).toBeGreaterThan(3);
    expect((store.db.prepare('SELECT count(*) AS n FROM snapshots WHERE seq >= 10000').get() as { n: number }).n).toBe(ingested);
  });

  it('picks the resolution from where the range starts', () => {
    expect(pickResolution(NOW - HOUR, NOW, 48 * HOUR)).toBe('raw');
    expect(pickResolution(NOW - 3 * 24 * HOUR, NOW, 48 * HOUR)).toBe('1m');
    expect(pickResolution(NOW - 40 * 24 * HOUR, NOW, 48 * HOUR)).toBe('1h');
  });

  it('db stats reports rows, bytes, oldest data and how far each resolution is rolled', async () => {
    const { store, path } = setup();
    await fill(store, ['s1', 's2'], NOW - 2 * HOUR, NOW);
    const job = new RollupJob(store.db, { rawRetentionMs: HOUR, now: () => NOW });
    await job.runOnce();
    const stats = await collectDbStats(path);
    const by = new Map(stats.resolutions.map((r) => [r.resolution, r]));
    expect(stats.hosts).toBe(2);
    expect(by.get('raw')!.rows).toBe(countRaw(store));
    expect(by.get('raw')!.oldest).toBeGreaterThanOrEqual(NOW - HOUR);
    expect(by.get('1m')!.rows).toBe((store.db.prepare('SELECT count(*) AS n FROM rollup_1m').get() as { n: number }).n);
    expect(by.get('1m')!.oldest).toBe(NOW - 30_000 - 2 * HOUR);
    expect(by.get('1m')!.rolled_until).toBe(job.doneUntil('1m'));
    expect(by.get('1h')!.rows).toBe(2 * 1);
    expect(by.get('raw')!.bytes).toBeGreaterThan(0);
  });
});
