/**
 * What the fleet sync of several collectors reads from PostgreSQL (issue 11), on a real server
 * with two PgStore instances on one database standing for two collectors:
 *  - latest(since) reads the namespace entries of the hosts it returns only, not of every host;
 *  - with othersOnly, a collector reads only the latest rows another collector wrote (latest.writer),
 *    also rows a host that moved to the other collector got there, and rows from before the column;
 *  - merged into the first collector's fleet, the moved host's newer row wins (Fleet.merge);
 *  - read `packed` (what the fleet sync reads), a row is a PackedSnapshot holding the same snapshot
 *    as the plain read (counters and breakdown built from its bytes when read), kept by the fleet as is;
 *  - with `have` (the fleet sync asking its fleet, Fleet.known), only keys are read for the rows the
 *    fleet holds already (not read whole, not decoded again; their receive time still moves the
 *    host's staleness on), and a newer row, with changed labels or a new boot, is read and taken;
 *  - with `fromLog`, the keys are the sync_log lines of the other collectors' commits since the look
 *    (not one per host of the fleet: hosts that did not move are not read at all); a row written
 *    without a line (a collector of an older version) is found by the full pass only; old lines are pruned;
 *  - with `each`, a pass's rows go on in chunks of MOVED_CHUNK hosts, each before the next is read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolClient } from 'pg';
import { Bin1Decoder, Bin1Encoder, PackedSnapshot } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { MOVED_CHUNK, PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { Fleet } from '../../packages/collector/src/api/fleet.js';
import { startFleetSync } from '../../packages/collector/src/cluster/fleet-sync.js';
import { pino } from 'pino';
import type { IngestItem, StoredSnapshot } from '../../packages/collector/src/store/store.js';
import { usePostgres } from '../helpers/postgres.js';
import { fixtureSnapshot, synthNamespace, synthSnapshot } from '../helpers/snapshots.js';

const pgServer = usePostgres();
const opened: PgStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

let n = 0;
async function stores(count: number): Promise<PgStore[]> {
  const url = await pgServer().createDatabase(`sync_${++n}`);
  const out: PgStore[] = [];
  for (let i = 0; i < count; i++) {
    const s = await PgStore.open(url);
    opened.push(s);
    out.push(s);
  }
  return out;
}

const item = (host: string, ts: number, seq: number, k: number, namespaces = [synthNamespace(4026532000 + k, k)]): IngestItem => ({
  host,
  labels: { role: host },
  snapshots: [{ ...synthSnapshot(host, ts, seq, k), namespaces }],
});

/** The statements a store sends and how many rows each returned (the real database's answers, recorded). */
function recordQueries(store: PgStore): { sql: string; rows: readonly Record<string, unknown>[] }[] {
  const log: { sql: string; rows: readonly Record<string, unknown>[] }[] = [];
  const query = store.db.query.bind(store.db);
  store.db.query = (async (sql: string, params?: unknown[], what?: string) => {
    const rows = await query(sql, params, what);
    log.push({ sql, rows });
    return rows;
  }) as typeof store.db.query;
  // Statements inside a transaction (the fleet sync's keys and rows), on the transaction's connection.
  const tx = store.db.tx.bind(store.db);
  store.db.tx = (async (what: string, fn: (c: PoolClient) => Promise<unknown>) =>
    tx(what, (c) => {
      const recorded = Object.create(c) as PoolClient;
      recorded.query = (async (sql: string, params?: unknown[]) => {
        const r = await c.query(sql, params);
        log.push({ sql, rows: r.rows as Record<string, unknown>[] });
        return r;
      }) as typeof c.query;
      return fn(recorded);
    })) as typeof store.db.tx;
  return log;
}

describe('fleet sync reads on PostgreSQL', () => {
  it("fromLog: the keys of the other collectors' commits since the look, not every host; a row without a log line is found by the full pass; old lines pruned", async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const t = Date.now();
    const fleet = new Fleet();
    const pass = (since: number, fromLog: boolean): Promise<StoredSnapshot[]> => a.latest(since, { othersOnly: true, packed: true, have: (h, ts, recv) => fleet.known(h, ts, recv), fromLog });
    // 40 hosts that sent a minute ago, then x and y now (on b), z now on a.
    await b.ingest(
      Array.from({ length: 40 }, (_, i) => item(`old-${i}`, t - 60_000, 1, i)),
      t - 60_000,
    );
    fleet.merge(await pass(t - 120_000, false));
    expect(fleet.hosts(t, null).length).toBe(40);
    await b.ingest([item('x', t, 1, 1)], t);
    await b.ingest([item('y', t, 1, 2), item('x', t + 10, 2, 3)], t + 10);
    await a.ingest([item('z', t, 1, 4)], t);
    const log = recordQueries(a);
    const keys = (): string[] => log.filter((q) => /FROM sync_log/.test(q.sql)).flatMap((q) => q.rows.map((r) => String(r['host'])));
    const got = await pass(t - 3000, true);
    // The keys: one per host b's commits moved since the look (x in two), none of the 40 quiet hosts, none of a's own.
    expect(keys().sort()).toEqual(['x', 'y']);
    expect(log.some((q) => /CROSS JOIN LATERAL \(SELECT ts, recv_ts, writer FROM latest/.test(q.sql))).toBe(false);
    expect(got.map((r) => [r.host, r.ts, r.seq])).toEqual([
      ['x', t + 10, 2],
      ['y', t, 1],
    ]);
    expect(fleet.merge(got).map((r) => r.host)).toEqual(['x', 'y']);
    // Nothing moved: the log pass reads x and y's keys again (the margin) and nothing whole.
    expect(await pass(t - 3000, true)).toEqual([]);

    // y stored by a collector that keeps no log (its line deleted): the log pass misses it, the full pass takes it.
    await b.ingest([item('y', t + 1000, 2, 5)], t + 1000);
    await b.db.query("DELETE FROM sync_log WHERE 'y' = ANY(hosts) AND at = $1", [t + 1000]);
    expect(await pass(t - 3000, true)).toEqual([]);
    const full = await pass(t - 3000, false);
    expect(full.map((r) => [r.host, r.ts])).toEqual([['y', t + 1000]]);

    // Pruning: lines received before the bound go, the others stay.
    const lines = async (): Promise<number> => Number((await b.db.query<{ n: string }>('SELECT count(*) AS n FROM sync_log'))[0]?.n);
    expect(await lines()).toBe(4);
    expect(await a.pruneSyncLog(t)).toBe(1);
    expect(await lines()).toBe(3);
  });

  it('each: a pass hands the rows on in chunks of MOVED_CHUNK hosts, in host order, each before the next is read; the answer is then empty', async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const t = Date.now();
    const count = 2 * MOVED_CHUNK + 100;
    const hosts = Array.from({ length: count }, (_, i) => `h-${String(i).padStart(4, '0')}`);
    await b.ingest(
      hosts.map((h, i) => item(h, t, 1, i, [])),
      t,
    );
    const fleet = new Fleet();
    const log = recordQueries(a);
    const rowReads = (): number => log.filter((q) => /encode\(l\.vals/.test(q.sql)).length;
    const chunks: { hosts: string[]; readsBefore: number }[] = [];
    const answer = await a.latest(t - 3000, {
      othersOnly: true,
      packed: true,
      have: (h, ts, recv) => fleet.known(h, ts, recv),
      fromLog: true,
      each: (rows) => chunks.push({ hosts: rows.map((r) => r.host), readsBefore: rowReads() }),
    });
    expect(answer).toEqual([]);
    expect(chunks.map((c) => c.hosts.length)).toEqual([MOVED_CHUNK, MOVED_CHUNK, 100]);
    // Chunk k was handed on after the k-th read of rows and before the next.
    expect(chunks.map((c) => c.readsBefore)).toEqual([1, 2, 3]);
    expect(chunks.flatMap((c) => c.hosts)).toEqual(hosts);
    // Without each, the same pass answers every row at once (in host order).
    const all = await a.latest(t - 3000, { othersOnly: true, packed: true, have: () => false, fromLog: true });
    expect(all.map((r) => r.host)).toEqual(hosts);
  });

  it("the sync waits while this collector's ingest is behind, at most deferMaxMs since its last pass; at once again when it is not", async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const fleet = new Fleet();
    let behind = false;
    const sync = startFleetSync(
      {
        latest: (since, have, full) => a.latest(since, { othersOnly: true, packed: true, have, fromLog: !full }),
        fleet,
        log: pino({ level: 'silent' }),
        everyMs: 50,
        deferMaxMs: 1500,
        behind: () => behind,
      },
      Date.now(),
    );
    const until = async (what: () => boolean, ms: number): Promise<number> => {
      const t0 = Date.now();
      while (!what() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
      return Date.now() - t0;
    };
    try {
      await b.ingest([item('x0', Date.now(), 1, 1, [])], Date.now());
      expect(await until(() => fleet.has('x0'), 5000)).toBeLessThan(5000);
      behind = true;
      // A pass already running when ingest fell behind ends first.
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      await b.ingest([item('x1', t0, 1, 2, [])], t0);
      // No pass for 1.5 s after the last one (at most 250 ms before t0): x1 not in the fleet 500 ms later, passes counted as deferred.
      await new Promise((r) => setTimeout(r, 500));
      expect(fleet.has('x1')).toBe(false);
      expect(sync.stats().deferred).toBeGreaterThan(0);
      // Still behind: the pass made when 1.5 s have gone by takes it.
      await until(() => fleet.has('x1'), 5000);
      expect(fleet.has('x1')).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      // Not behind: the next pass, 50 ms on.
      behind = false;
      const deferred = sync.stats().deferred;
      await b.ingest([item('x2', Date.now(), 1, 3, [])], Date.now());
      expect(await until(() => fleet.has('x2'), 5000)).toBeLessThan(5000);
      expect(sync.stats().deferred).toBe(deferred);
      expect(sync.stats().last_pass_ms_ago).toBeLessThan(1000);
    } finally {
      sync.stop();
    }
  });

  it('an idle follower (not the leader, no read for readIdleMs) passes every idleEveryMs only; a read waits for a pass and makes it active again; the leader is never idle', async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const fleet = new Fleet();
    let follower = true;
    let passes = 0;
    const sync = startFleetSync(
      {
        latest: (since, have, full) => {
          passes++;
          return a.latest(since, { othersOnly: true, packed: true, have, fromLog: !full });
        },
        fleet,
        log: pino({ level: 'silent' }),
        everyMs: 50,
        follower: () => follower,
        readIdleMs: 300,
        idleEveryMs: 60_000,
      },
      Date.now(),
    );
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const until = async (what: () => boolean, ms: number): Promise<number> => {
      const t0 = Date.now();
      while (!what() && Date.now() - t0 < ms) await sleep(20);
      return Date.now() - t0;
    };
    try {
      // Active at start (a start counts as a read): passes every 50 ms.
      await b.ingest([item('f0', Date.now(), 1, 1, [])], Date.now());
      expect(await until(() => fleet.has('f0'), 5000)).toBeLessThan(5000);
      // No read for 300 ms: idle, no pass for idleEveryMs (60 s here).
      expect(await until(() => sync.stats().idle, 5000)).toBeLessThan(5000);
      await sleep(100);
      const idleFrom = passes;
      await b.ingest([item('f1', Date.now(), 1, 2, [])], Date.now());
      await sleep(600);
      expect(passes).toBe(idleFrom);
      expect(fleet.has('f1')).toBe(false);
      // A read waits for one pass, which brings f1; the collector is active again.
      await sync.fresh();
      expect(fleet.has('f1')).toBe(true);
      expect(passes).toBe(idleFrom + 1);
      expect(sync.stats()).toMatchObject({ idle: false, read_passes: 1 });
      // Active: another read right after a pass waits for none.
      await until(() => passes >= idleFrom + 2, 5000);
      const before = passes;
      await sync.fresh();
      expect(sync.stats().read_passes).toBe(1);
      expect(passes - before).toBeLessThanOrEqual(1);
      // The leader is never idle: with no read for longer than readIdleMs, passes go on every 50 ms.
      follower = false;
      await sleep(500);
      expect(sync.stats().idle).toBe(false);
      const leaderFrom = passes;
      await b.ingest([item('f2', Date.now(), 1, 3, [])], Date.now());
      expect(await until(() => fleet.has('f2'), 5000)).toBeLessThan(5000);
      expect(passes).toBeGreaterThan(leaderFrom);
    } finally {
      sync.stop();
    }
  });

  it('latest(since) reads the namespace entries of the hosts that moved only', async () => {
    const [store] = (await stores(1)) as [PgStore];
    const now = Date.now();
    expect(await store.ingest([item('quiet', now - 60_000, 1, 3)], now - 60_000)).toEqual([{ stored: 1, duplicates: 0 }]);
    expect(await store.ingest([item('busy', now, 1, 5)], now)).toEqual([{ stored: 1, duplicates: 0 }]);
    const log = recordQueries(store);
    const rows = await store.latest(now - 3000);
    expect(rows.map((r) => r.host)).toEqual(['busy']);
    expect(rows[0]?.namespaces).toEqual([synthNamespace(4026532005, 5)]);
    const nsReads = log.filter((q) => /ns_latest|ns_snapshots/.test(q.sql));
    expect(nsReads).toHaveLength(1);
    expect(new Set(nsReads[0]!.rows.map((r) => r['host']))).toEqual(new Set(['busy']));
    // Nothing moved: no namespace statement at all.
    log.length = 0;
    expect(await store.latest(now + 60_000)).toEqual([]);
    expect(log.filter((q) => /ns_latest|ns_snapshots/.test(q.sql))).toEqual([]);
    // Without since, every host and its entries, as at start.
    const all = await store.latest();
    expect(all.map((r) => [r.host, r.namespaces])).toEqual([
      ['busy', [synthNamespace(4026532005, 5)]],
      ['quiet', [synthNamespace(4026532003, 3)]],
    ]);
  });

  it('othersOnly: each collector reads the rows the other wrote, also of a host that moved to it, never its own', async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    expect(a.writer).not.toBe(b.writer);
    const t = Date.now();
    const since = t - 3000;
    await a.ingest([item('x', t, 1, 1)], t);
    await b.ingest([item('y', t, 1, 2)], t);
    const hostsOf = async (s: PgStore): Promise<string[]> => (await s.latest(since, { othersOnly: true })).map((r) => r.host);
    expect(await hostsOf(a)).toEqual(['y']);
    expect(await hostsOf(b)).toEqual(['x']);
    // Without othersOnly (the load at start, a reader): everything.
    expect((await a.latest(since)).map((r) => r.host)).toEqual(['x', 'y']);
    expect((await a.latest()).map((r) => r.host)).toEqual(['x', 'y']);

    // a's fleet as the collector keeps it: its own commit applied, the others' rows merged.
    const fleet = new Fleet();
    fleet.apply([item('x', t, 1, 1)], t);
    fleet.merge(await a.latest(since, { othersOnly: true }));
    expect(fleet.host('x', t)?.ts).toBe(t);

    // Host x moves to b: its newer row is b's, a reads it and its fleet takes it.
    await b.ingest([item('x', t + 1000, 2, 7)], t + 1000);
    const moved = await a.latest(since, { othersOnly: true });
    expect(moved.map((r) => [r.host, r.ts, r.seq])).toEqual([
      ['x', t + 1000, 2],
      ['y', t, 1],
    ]);
    expect(fleet.merge(moved).map((r) => r.host)).toEqual(['x']);
    expect(fleet.host('x', t + 1000)?.ts).toBe(t + 1000);
    expect(fleet.host('x', t + 1000)?.states).toEqual(item('x', t + 1000, 2, 7).snapshots[0]!.states);
    expect(await hostsOf(b)).toEqual([]);

    // A late, older snapshot of x stored by a does not take the latest row from b's newer one: a still reads b's.
    expect(await a.ingest([item('x', t + 500, 9, 8)], t + 1500)).toEqual([{ stored: 1, duplicates: 0 }]);
    expect((await a.latest(since, { othersOnly: true })).find((r) => r.host === 'x')?.ts).toBe(t + 1000);
    expect(fleet.merge(await a.latest(since, { othersOnly: true }))).toEqual([]);
    expect(fleet.host('x', t + 1500)?.ts).toBe(t + 1000);

    // A row written before the column (writer NULL) is another's for every collector.
    await a.db.query("UPDATE latest SET writer = NULL WHERE host = 'y'");
    expect(await hostsOf(a)).toEqual(['x', 'y']);
    expect(await hostsOf(b)).toEqual(['y']);
  });

  it('packed: the rows a collector reads of the others are PackedSnapshots holding what the plain read holds', async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const t = Date.now();
    // bin1 snapshots with a breakdown, as agents send them (the breakdown stored as the bytes that
    // came), and a JSON one (its breakdown stored as JSON text).
    const real = (host: string): Snapshot => fixtureSnapshot({ seq: 1, host, ts: t, labels: { role: host } });
    const bin1 = (host: string): Snapshot[] => new Bin1Decoder().decode(new Bin1Encoder().encode(1, [real(host)])!, host, { role: host }).snapshots;
    expect(real('p').breakdown).toBeDefined();
    await b.ingest(
      [
        { host: 'p', labels: { role: 'p' }, snapshots: bin1('p') },
        { host: 'q', labels: { role: 'q' }, snapshots: bin1('q') },
        { host: 'j', labels: { role: 'j' }, snapshots: [real('j')] },
      ],
      t,
    );
    const packed = await a.latest(t - 3000, { othersOnly: true, packed: true });
    const plain = await a.latest(t - 3000, { othersOnly: true });
    expect(packed.map((r) => r.host)).toEqual(['j', 'p', 'q']);
    // The JSON agent's row stays a plain object (its breakdown is JSON text).
    expect(packed.map((r) => r instanceof PackedSnapshot)).toEqual([false, true, true]);
    for (const [i, r] of packed.entries()) {
      const whole = r instanceof PackedSnapshot ? r.toObject() : r;
      expect(whole).toEqual(plain[i]);
      expect(whole.snmp).toEqual(plain[i]!.snmp);
      expect(whole.breakdown).toEqual(plain[i]!.breakdown);
      expect(whole.namespaces).toEqual(plain[i]!.namespaces);
    }
    // Read the fleet sync's way (keys from the log or from every row, then the rows whole, values and breakdowns as base64): the same snapshots.
    for (const fromLog of [true, false]) {
      const synced = await a.latest(t - 3000, { othersOnly: true, packed: true, have: () => false, fromLog });
      expect(synced.map((r) => r.host)).toEqual(['j', 'p', 'q']);
      for (const [i, r] of synced.entries()) expect(r instanceof PackedSnapshot ? r.toObject() : r).toEqual(plain[i]);
    }
    // The fleet keeps the packed row's numbers and bytes, not the row (api/fleet.ts): its view is
    // rebuilt from them, packed again (lazy parts intact), and answers as from the plain one.
    const fleet = new Fleet();
    expect(fleet.merge(packed).map((r) => r.host)).toEqual(['j', 'p', 'q']);
    const view = fleet.hosts(t).find((h) => h.host === 'p');
    expect(view).toBeInstanceOf(PackedSnapshot);
    expect(view).not.toBe(packed[1]);
    expect(fleet.host('p', t)).toEqual({ ...plain[1], stale: false });
    expect(JSON.parse(JSON.stringify(fleet.hosts(t)))).toEqual(JSON.parse(JSON.stringify(plain.map((r) => ({ ...r, stale: false })))));
  });

  it('have: rows the fleet holds are read as keys only, not whole; their receive time still counts; newer rows, labels and boots are taken', async () => {
    const [a, b] = (await stores(2)) as [PgStore, PgStore];
    const t = Date.now();
    const since = t - 3000;
    const fleet = new Fleet();
    const pass = (): Promise<StoredSnapshot[]> => a.latest(since, { othersOnly: true, packed: true, have: (h, ts, recv) => fleet.known(h, ts, recv) });
    await b.ingest([item('x', t, 1, 1), item('y', t, 1, 2)], t);
    const log = recordQueries(a);
    const first = await pass();
    expect(first.map((r) => [r.host, r.ts, r.boot, r.labels])).toEqual([
      ['x', t, synthSnapshot('x', t, 1, 1).boot, { role: 'x' }],
      ['y', t, synthSnapshot('y', t, 1, 2).boot, { role: 'y' }],
    ]);
    expect(fleet.merge(first).map((r) => r.host)).toEqual(['x', 'y']);
    // Read whole: the rows of the hosts the keys named.
    const whole = (): string[] => log.filter((q) => /l\.vals/.test(q.sql)).flatMap((q) => q.rows.map((r) => String(r['host'])));
    expect(whole()).toEqual(['x', 'y']);

    // Nothing new: the keys only (one read, no values), nothing returned.
    log.length = 0;
    expect(await pass()).toEqual([]);
    expect(log.filter((q) => /^\s*SELECT/.test(q.sql)).map((q) => q.rows.map((r) => r['host']).sort())).toEqual([['x', 'y']]);
    expect(whole()).toEqual([]);

    // x sent again (a duplicate) later: still not read whole, but its receive time moves x's staleness on.
    log.length = 0;
    expect(await b.ingest([item('x', t, 1, 1)], t + 25_000)).toEqual([{ stored: 0, duplicates: 1 }]);
    expect(fleet.host('x', t + 40_000)?.stale).toBe(true);
    expect(await pass()).toEqual([]);
    expect(whole()).toEqual([]);
    expect(fleet.host('x', t + 40_000)).toMatchObject({ recv_ts: t + 25_000, stale: false });

    // y's newer snapshot with new labels and a new boot: only y is read whole, and taken with its labels and boot.
    log.length = 0;
    const newBoot = '00000000-0000-4000-8000-0000000000f2';
    await b.ingest([{ host: 'y', labels: { role: 'moved' }, snapshots: [{ ...synthSnapshot('y', t + 1000, 1, 9, newBoot), namespaces: [] }] }], t + 26_000);
    const next = await pass();
    expect(whole()).toEqual(['y']);
    expect(next.map((r) => [r.host, r.ts, r.boot, r.labels])).toEqual([['y', t + 1000, newBoot, { role: 'moved' }]]);
    expect(fleet.merge(next).map((r) => r.host)).toEqual(['y']);
    expect(fleet.host('y', t + 26_000)).toMatchObject({ ts: t + 1000, boot: newBoot, labels: { role: 'moved' }, states: synthSnapshot('y', t + 1000, 1, 9).states });
    expect(fleet.hosts(t + 26_000, null).map((h) => [h.host, h.labels['role']])).toEqual([
      ['x', 'x'],
      ['y', 'moved'],
    ]);
  });
});
