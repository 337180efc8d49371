/**
 * Rollups and retention on PostgreSQL: the same rollups as store/rollups.ts (the aggregation is
 * shared: minuteAggs, hourAggs, encodeFleet), read and written over arrays, a slice of hosts per
 * statement. Differences: raw retention drops whole daily partitions (a partition goes once its
 * whole day is older than the retention and rolled up, so raw data is kept up to a day longer),
 * and late snapshots are marked in rollup_dirty by the ingest transaction of whichever collector
 * stored them, not in this process's memory.
 */
import type { Logger } from 'pino';
import { layoutCounters } from '@tcpfleet/common';
import { decodeAgg, encodeAgg } from '../rollup-codec.js';
import type { Agg } from '../rollup-codec.js';
import { DAY, HOUR, MINUTE, encodeFleet, floorTo, hourAggs, minuteAggs, passEvery } from '../rollups.js';
import type { MinuteRow, RawSample } from '../rollups.js';
import type { RollupJobOptions, RollupService } from '../store.js';
import type { PgDb } from './pg-db.js';
import type { Partitions } from './pg-partitions.js';
import { nsPrune, nsRollHours, nsRollMinutes } from './pg-namespaces.js';

/** What the job needs of the store. */
export interface PgRollupStore {
  db: PgDb;
  partitions: Partitions;
  /** A layout's counter names (namespace entries, issue 10). */
  snmpNames(layoutId: number): Promise<readonly string[]>;
}

/**
 * A slice's raw rows are read at once (not streamed as on SQLite): 100 hosts x 10 minutes is at
 * most 60,000 snapshots (about 30 MB) at one snapshot a second. A collector catching up after a
 * stop rolls 10 minutes a step until it is done.
 */
const HOSTS_PER_SLICE = 100;
const MAX_MINUTES_PER_PASS = 10;

export class PgRollupJob implements RollupService {
  readonly #store: PgRollupStore;
  readonly #o: Required<Omit<RollupJobOptions, 'log'>>;
  readonly #log: Logger | undefined;
  readonly #counters = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** The oldest raw snapshot's ts while nothing is rolled yet (read by a scan of every partition). */
  #oldest: number | null = null;
  readonly stats = { minutesRolled: 0, hoursRolled: 0, rawPruned: 0, minutePruned: 0, hourPruned: 0, dirtyRerolled: 0, nsPruned: 0 };

  constructor(store: PgRollupStore, o: RollupJobOptions) {
    this.#store = store;
    this.#o = {
      rawRetentionMs: o.rawRetentionMs,
      minuteRetentionMs: o.minuteRetentionMs ?? 30 * DAY,
      hourRetentionMs: o.hourRetentionMs ?? 365 * DAY,
      graceMs: o.graceMs ?? 2 * MINUTE,
      now: o.now ?? Date.now,
    };
    this.#log = o.log?.child({ component: 'rollups' });
  }

  start(everyMs: number): void {
    passEvery(
      everyMs,
      () => this.runOnce(),
      () => this.#stopped,
      (t) => (this.#timer = t),
      this.#log,
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** Late minutes are marked by the ingest transaction (rollup_dirty), whoever stored them. */
  noteCommitted(): void {}

  runOnce(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  get #db(): PgDb {
    return this.#store.db;
  }

  async doneUntil(res: '1m' | '1h'): Promise<number | null> {
    return (await this.#db.query<{ d: number }>('SELECT done_until AS d FROM rollup_state WHERE resolution = $1', [res]))[0]?.d ?? null;
  }

  async #pass(): Promise<void> {
    for (let i = 0; i < 100_000 && !this.#stopped; i++) if (!(await this.#rollMinutes())) break;
    await this.#rerollDirty();
    await this.#rollHours();
    await this.#prune();
  }

  async #hosts(): Promise<string[]> {
    return (await this.#db.query<{ host: string }>('SELECT host FROM hosts ORDER BY host')).map((r) => r.host);
  }

  async #countersOf(layoutId: number): Promise<number> {
    let n = this.#counters.get(layoutId);
    if (n === undefined) {
      const row = (await this.#db.query<{ fields: string }>('SELECT fields FROM layouts WHERE id = $1', [layoutId]))[0];
      n = layoutCounters(row?.fields ?? '');
      this.#counters.set(layoutId, n);
    }
    return n;
  }

  /** Raw samples of these hosts in [from, to), by host. */
  async #raw(hosts: readonly string[], from: number, to: number): Promise<Map<string, RawSample[]>> {
    const rows = await this.#db.query<RawSample & { host: string }>('SELECT host, ts, vals, layout_id FROM snapshots WHERE host = ANY($1::text[]) AND ts >= $2 AND ts < $3 ORDER BY host, ts', [
      hosts,
      from,
      to,
    ]);
    for (const r of rows) await this.#countersOf(r.layout_id);
    const out = new Map<string, RawSample[]>();
    for (const r of rows) {
      let list = out.get(r.host);
      if (list === undefined) out.set(r.host, (list = []));
      list.push(r);
    }
    return out;
  }

  #aggs(samples: readonly RawSample[]): Map<number, Agg> {
    return minuteAggs(samples, (l) => this.#counters.get(l) ?? 0);
  }

  async #put(table: 'rollup_1m' | 'rollup_1h', rows: { host: string; bucket: number; a: Agg }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#db.query(
      `INSERT INTO ${table} (host, bucket, last_ts, vals) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[])
       ON CONFLICT (host, bucket) DO UPDATE SET last_ts = excluded.last_ts, vals = excluded.vals`,
      [rows.map((r) => r.host), rows.map((r) => r.bucket), rows.map((r) => r.a.lastTs), rows.map((r) => encodeAgg(r.a))],
      `cannot store ${table}`,
    );
  }

  async #setState(res: '1m' | '1h', to: number): Promise<void> {
    await this.#db.query('INSERT INTO rollup_state (resolution, done_until) VALUES ($1, $2) ON CONFLICT (resolution) DO UPDATE SET done_until = excluded.done_until', [res, to]);
  }

  async #rollMinutes(): Promise<boolean> {
    const now = this.#o.now();
    let from = await this.doneUntil('1m');
    if (from === null) {
      // Until the first minute is rolled (the grace after the first snapshot) every pass lands
      // here; the scan is read again only once the oldest minute it gave is due (a snapshot
      // older still may have come since), not on every pass.
      const due = (t: number | null): boolean => t === null || floorTo(t, MINUTE) < floorTo(now - this.#o.graceMs, MINUTE);
      if (due(this.#oldest)) this.#oldest = (await this.#db.query<{ t: number | null }>('SELECT min(ts) AS t FROM snapshots'))[0]?.t ?? null;
      const oldest = this.#oldest;
      if (oldest === null) return false;
      from = floorTo(oldest, MINUTE);
    }
    const target = floorTo(now - this.#o.graceMs, MINUTE);
    if (from >= target) return false;
    const to = Math.min(target, from + MAX_MINUTES_PER_PASS * MINUTE);
    const fleet = new Map<number, Agg[]>();
    const hosts = await this.#hosts();
    for (let i = 0; i < hosts.length && !this.#stopped; i += HOSTS_PER_SLICE) {
      const raw = await this.#raw(hosts.slice(i, i + HOSTS_PER_SLICE), from, to);
      // The slice's namespaces, rolled with their hosts.
      await nsRollMinutes(this.#db, hosts.slice(i, i + HOSTS_PER_SLICE), from, to, (l) => this.#store.snmpNames(l));
      const put: { host: string; bucket: number; a: Agg }[] = [];
      for (const [host, samples] of raw)
        for (const [bucket, a] of this.#aggs(samples)) {
          put.push({ host, bucket, a });
          let list = fleet.get(bucket);
          if (list === undefined) fleet.set(bucket, (list = []));
          list.push(a);
        }
      await this.#put('rollup_1m', put);
    }
    if (this.#stopped) return false;
    const buckets = [...fleet.keys()];
    await this.#db.tx('cannot store the fleet rollup', async (c) => {
      if (buckets.length > 0)
        await c.query(
          `INSERT INTO rollup_fleet_1m (bucket, hosts, vals) SELECT * FROM unnest($1::bigint[], $2::int[], $3::bytea[])
           ON CONFLICT (bucket) DO UPDATE SET hosts = excluded.hosts, vals = excluded.vals`,
          [buckets, buckets.map((b) => fleet.get(b)!.length), buckets.map((b) => encodeFleet(fleet.get(b)!))],
        );
      await c.query("INSERT INTO rollup_state (resolution, done_until) VALUES ('1m', $1) ON CONFLICT (resolution) DO UPDATE SET done_until = excluded.done_until", [to]);
    });
    this.stats.minutesRolled += (to - from) / MINUTE;
    return to < target;
  }

  async #rerollDirty(): Promise<void> {
    const dirty = await this.#db.query<{ host: string; minute: number }>('DELETE FROM rollup_dirty RETURNING host, minute');
    if (dirty.length === 0) return;
    try {
      const buckets = new Set<number>();
      const hours = new Map<string, Set<number>>();
      const doneH = await this.doneUntil('1h');
      for (const d of dirty) {
        const raw = await this.#raw([d.host], d.minute, d.minute + MINUTE);
        await this.#db.query('DELETE FROM rollup_1m WHERE host = $1 AND bucket = $2', [d.host, d.minute]);
        await nsRollMinutes(this.#db, [d.host], d.minute, d.minute + MINUTE, (l) => this.#store.snmpNames(l), true);
        await this.#put(
          'rollup_1m',
          [...this.#aggs(raw.get(d.host) ?? [])].map(([bucket, a]) => ({ host: d.host, bucket, a })),
        );
        buckets.add(d.minute);
        this.stats.dirtyRerolled++;
        if (doneH !== null && d.minute < doneH) {
          const set = hours.get(d.host) ?? new Set<number>();
          set.add(floorTo(d.minute, HOUR));
          hours.set(d.host, set);
        }
      }
      for (const b of buckets) {
        const rows = await this.#db.query<MinuteRow>('SELECT bucket, last_ts, vals FROM rollup_1m WHERE bucket = $1', [b]);
        if (rows.length === 0) await this.#db.query('DELETE FROM rollup_fleet_1m WHERE bucket = $1', [b]);
        else
          await this.#db.query('INSERT INTO rollup_fleet_1m (bucket, hosts, vals) VALUES ($1, $2, $3) ON CONFLICT (bucket) DO UPDATE SET hosts = excluded.hosts, vals = excluded.vals', [
            b,
            rows.length,
            encodeFleet(rows.map((r) => decodeAgg(r.vals, r.last_ts))),
          ]);
      }
      for (const [host, hs] of hours) for (const h of hs) await this.#rollHostHours([host], h, h + HOUR);
    } catch (err) {
      // Marked again, to be re-rolled on the next pass.
      await this.#db
        .query('INSERT INTO rollup_dirty (host, minute) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING', [dirty.map((d) => d.host), dirty.map((d) => d.minute)])
        .catch(() => undefined);
      throw err;
    }
  }

  async #rollHostHours(hosts: readonly string[], from: number, to: number): Promise<void> {
    const rows = await this.#db.query<MinuteRow & { host: string }>(
      'SELECT host, bucket, last_ts, vals FROM rollup_1m WHERE host = ANY($1::text[]) AND bucket >= $2 AND bucket < $3 ORDER BY host, bucket',
      [hosts, from, to],
    );
    const byHost = new Map<string, MinuteRow[]>();
    for (const r of rows) {
      let list = byHost.get(r.host);
      if (list === undefined) byHost.set(r.host, (list = []));
      list.push(r);
    }
    const put: { host: string; bucket: number; a: Agg }[] = [];
    for (const [host, list] of byHost) for (const [bucket, a] of hourAggs(list)) put.push({ host, bucket, a });
    await this.#put('rollup_1h', put);
    await nsRollHours(this.#db, hosts, from, to);
  }

  async #rollHours(): Promise<void> {
    const done1m = await this.doneUntil('1m');
    if (done1m === null) return;
    let from = await this.doneUntil('1h');
    if (from === null) {
      const oldest = (await this.#db.query<{ t: number | null }>('SELECT min(bucket) AS t FROM rollup_1m'))[0]?.t ?? null;
      if (oldest === null) return;
      from = floorTo(oldest, HOUR);
    }
    const target = floorTo(done1m, HOUR);
    for (let guard = 0; from < target && guard < 100_000 && !this.#stopped; guard++) {
      const to = Math.min(target, from + 24 * HOUR);
      const hosts = await this.#hosts();
      for (let i = 0; i < hosts.length; i += HOSTS_PER_SLICE) await this.#rollHostHours(hosts.slice(i, i + HOSTS_PER_SLICE), from, to);
      await this.#setState('1h', to);
      this.stats.hoursRolled += (to - from) / HOUR;
      from = to;
    }
  }

  async #prune(): Promise<void> {
    const now = this.#o.now();
    const done1m = await this.doneUntil('1m');
    const done1h = await this.doneUntil('1h');
    // Raw data goes only once rolled up; one-minute rows only once rolled into hours.
    if (done1m !== null) this.stats.rawPruned += await this.#store.partitions.dropBefore(Math.min(now - this.#o.rawRetentionMs, done1m));
    if (done1h !== null) this.stats.minutePruned += (await this.#db.query('DELETE FROM rollup_1m WHERE bucket < $1 RETURNING 1', [Math.min(now - this.#o.minuteRetentionMs, done1h)])).length;
    this.stats.hourPruned += (await this.#db.query('DELETE FROM rollup_1h WHERE bucket < $1 RETURNING 1', [now - this.#o.hourRetentionMs])).length;
    await this.#db.query('DELETE FROM rollup_fleet_1m WHERE bucket < $1', [now - this.#o.minuteRetentionMs]);
    // Namespace entries go with their day's partition (dropBefore); their rollups with the hosts' cuts.
    this.stats.nsPruned += await nsPrune(this.#db, done1h === null ? null : Math.min(now - this.#o.minuteRetentionMs, done1h), now - this.#o.hourRetentionMs);
  }
}
