/**
 * Retention and rollups. Raw snapshots are kept for `rawRetentionMs` (serve --retention, default
 * 48 h); closed minutes are rolled up into rollup_1m (per host) and rollup_fleet_1m (fleet sums),
 * closed hours of rollup_1m into rollup_1h. One-minute rows are kept 30 days, one-hour rows a
 * year. rollup_state records how far each resolution is rolled (`done_until`, exclusive).
 *
 * The job works in small slices (a few hosts, or at most `pruneBatch` deleted rows, per
 * transaction) and yields to the event loop between slices, so ingest commits never wait behind
 * it for more than one slice. Raw data is pruned only once it is rolled up, so history stays
 * continuous across the raw -> rollup boundary. Snapshots that arrive for an already rolled
 * minute (an agent replaying its outbox) mark that minute dirty; it is rolled again.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { decodeFixedValues, layoutCounters } from '@tcpfleet/common';
import { AGG_METRICS, addAgg, addSample, aggOf, decodeAgg, encodeAgg, encodeInts } from './rollup-codec.js';
import type { Agg } from './rollup-codec.js';
import type { RollupService } from './store.js';
import { NsRollups } from './ns-rollups.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Options of the rollup job. */
export interface RollupOptions {
  rawRetentionMs: number;
  minuteRetentionMs?: number;
  hourRetentionMs?: number;
  /** A minute is rolled once it ended this long ago (late snapshots after that mark it dirty). */
  graceMs?: number;
  /** Hosts per transaction while rolling. */
  hostsPerSlice?: number;
  /** Rows deleted per transaction while pruning. */
  pruneBatch?: number;
  /** Minutes rolled per pass. */
  maxMinutesPerPass?: number;
  now?: () => number;
  log?: Logger;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
export const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;

/** Fleet sums of one minute: per metric sum of hosts' last, min, max and mean (x1000). */
export function encodeFleet(aggs: readonly Agg[]): Buffer {
  const v: number[] = [];
  for (let i = 0; i < AGG_METRICS; i++) {
    let last = 0;
    let min = 0;
    let max = 0;
    let mean = 0;
    for (const a of aggs) {
      last += a.last[i] ?? 0;
      min += a.min[i] ?? 0;
      max += a.max[i] ?? 0;
      mean += (a.sum[i] ?? 0) / Math.max(1, a.n);
    }
    v.push(last, min, max, Math.round(mean * 1000));
  }
  return encodeInts(v);
}

/** A raw snapshot as the rollup reads it. */
export interface RawSample {
  ts: number;
  vals: Uint8Array;
  layout_id: number;
}

/** A one-minute rollup row. */
export interface MinuteRow {
  bucket: number;
  last_ts: number;
  vals: Uint8Array;
}

/** One host's raw snapshots aggregated by minute; `counters` gives a layout's counter count. */
export function minuteAggs(rows: Iterable<RawSample>, counters: (layoutId: number) => number): Map<number, Agg> {
  const out = new Map<number, Agg>();
  for (const r of rows) {
    const sample = { ts: r.ts, ...decodeFixedValues(r.vals, counters(r.layout_id)) };
    const bucket = floorTo(r.ts, MINUTE);
    const a = out.get(bucket);
    if (a === undefined) out.set(bucket, aggOf(sample));
    else addSample(a, sample);
  }
  return out;
}

/** One host's one-minute rows aggregated by hour. */
export function hourAggs(rows: Iterable<MinuteRow>): Map<number, Agg> {
  const out = new Map<number, Agg>();
  for (const r of rows) {
    const a = decodeAgg(r.vals, r.last_ts);
    const h = floorTo(r.bucket, HOUR);
    const cur = out.get(h);
    if (cur === undefined) out.set(h, a);
    else addAgg(cur, a);
  }
  return out;
}

/**
 * Runs `pass` every `everyMs` (timer unref'd; the next one counted from the end of the last) until
 * `stopped`; `timer` gets each timer so stop() can clear it. A failed pass is logged.
 */
export function passEvery(everyMs: number, pass: () => Promise<void>, stopped: () => boolean, timer: (t: NodeJS.Timeout) => void, log: Logger | undefined): void {
  const tick = (): void => {
    if (stopped()) return;
    const t = setTimeout(() => {
      void pass()
        .catch((err: unknown) => log?.error({ err }, 'rollup pass failed'))
        .finally(tick);
    }, everyMs);
    t.unref();
    timer(t);
  };
  tick();
}

export class RollupJob implements RollupService {
  readonly #db: Db;
  readonly #o: Required<Omit<RollupOptions, 'log'>>;
  readonly #log: Logger | undefined;
  readonly #s: Record<string, Statement>;
  /** The hosts' namespace series, rolled and pruned with their host (store/ns-rollups.ts). */
  readonly #ns: NsRollups;
  readonly #dirty = new Map<number, Set<number>>();
  readonly #hostIds = new Map<string, number>();
  readonly #layoutCounters = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #lastRawCut = -Infinity;
  #done1m: number | null | undefined = undefined;
  #lastPrune = -Infinity;
  /** Totals since start, for logs and tests. */
  readonly stats = { minutesRolled: 0, hoursRolled: 0, rawPruned: 0, minutePruned: 0, hourPruned: 0, slices: 0, dirtyRerolled: 0, nsPruned: 0 };

  constructor(db: Db, o: RollupOptions) {
    this.#db = db;
    this.#o = {
      rawRetentionMs: o.rawRetentionMs,
      minuteRetentionMs: o.minuteRetentionMs ?? 30 * DAY,
      hourRetentionMs: o.hourRetentionMs ?? 365 * DAY,
      graceMs: o.graceMs ?? 2 * MINUTE,
      hostsPerSlice: o.hostsPerSlice ?? 250,
      pruneBatch: o.pruneBatch ?? 2000,
      maxMinutesPerPass: o.maxMinutesPerPass ?? 60,
      now: o.now ?? Date.now,
    };
    this.#log = o.log?.child({ component: 'rollups' });
    const p = (sql: string): Statement => db.prepare(sql);
    this.#ns = new NsRollups(db);
    this.#s = {
      getState: p('SELECT done_until FROM rollup_state WHERE resolution = ?'),
      setState: p('INSERT INTO rollup_state (resolution, done_until) VALUES (?, ?) ON CONFLICT (resolution) DO UPDATE SET done_until = excluded.done_until'),
      // One index seek per host (snapshots_by_time), not a scan of every snapshot.
      oldestRaw: p('SELECT min((SELECT min(ts) FROM snapshots WHERE host_id = h.id)) AS t FROM hosts h'),
      oldest1m: p('SELECT min(bucket) AS t FROM rollup_1m'),
      hostIds: p('SELECT id FROM hosts ORDER BY id'),
      hostId: p('SELECT id FROM hosts WHERE name = ?'),
      raw: p('SELECT ts, vals, layout_id FROM snapshots WHERE host_id = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      layout: p('SELECT fields FROM layouts WHERE id = ?'),
      put1m: p('INSERT OR REPLACE INTO rollup_1m (host_id, bucket, last_ts, vals) VALUES (?, ?, ?, ?)'),
      del1m: p('DELETE FROM rollup_1m WHERE host_id = ? AND bucket = ?'),
      get1m: p('SELECT bucket, last_ts, vals FROM rollup_1m WHERE host_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket'),
      bucket1m: p('SELECT last_ts, vals FROM rollup_1m WHERE bucket = ?'),
      put1h: p('INSERT OR REPLACE INTO rollup_1h (host_id, bucket, last_ts, vals) VALUES (?, ?, ?, ?)'),
      putFleet: p('INSERT OR REPLACE INTO rollup_fleet_1m (bucket, hosts, vals) VALUES (?, ?, ?)'),
      delFleet: p('DELETE FROM rollup_fleet_1m WHERE bucket = ?'),
      pruneRaw: p(`DELETE FROM snapshots WHERE (host_id, boot_id, seq) IN
                   (SELECT host_id, boot_id, seq FROM snapshots WHERE host_id = ? AND ts < ? LIMIT ?)`),
      prune1m: p('DELETE FROM rollup_1m WHERE (host_id, bucket) IN (SELECT host_id, bucket FROM rollup_1m WHERE host_id = ? AND bucket < ? LIMIT ?)'),
      prune1h: p('DELETE FROM rollup_1h WHERE (host_id, bucket) IN (SELECT host_id, bucket FROM rollup_1h WHERE host_id = ? AND bucket < ? LIMIT ?)'),
      pruneFleet: p('DELETE FROM rollup_fleet_1m WHERE bucket IN (SELECT bucket FROM rollup_fleet_1m WHERE bucket < ? LIMIT ?)'),
    };
  }

  /** Runs a pass every `everyMs` (timer unref'd) until stop(). */
  start(everyMs = 10_000): void {
    passEvery(
      everyMs,
      () => this.runOnce(),
      () => this.#stopped,
      (t) => (this.#timer = t),
      this.#log,
    );
  }

  /** Stops the timer and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
  }

  /** How far a resolution is rolled up (exclusive), or null before the first pass. */
  doneUntil(res: '1m' | '1h'): number | null {
    return (this.#s['getState']!.get(res) as { done_until: number } | undefined)?.done_until ?? null;
  }

  /** Marks the minute of a committed snapshot when it was already rolled (call after each commit, once a snapshot). */
  noteCommitted(host: string, ts: number): void {
    if (this.#done1m === undefined) this.#done1m = this.doneUntil('1m');
    const done = this.#done1m;
    if (done === null || ts >= done) return;
    let id = this.#hostIds.get(host);
    if (id === undefined) {
      id = (this.#s['hostId']!.get(host) as { id: number } | undefined)?.id;
      if (id === undefined) return;
      this.#hostIds.set(host, id);
    }
    let set = this.#dirty.get(id);
    if (set === undefined) this.#dirty.set(id, (set = new Set<number>()));
    set.add(floorTo(ts, MINUTE));
  }

  /** One pass: roll every closed minute and hour, re-roll dirty minutes, prune. */
  runOnce(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    for (let i = 0; i < 100_000 && !this.#stopped; i++) {
      const more = await this.#rollMinutes();
      if (!more) break;
    }
    await this.#rerollDirty();
    await this.#rollHours();
    await this.#prune();
  }

  #hosts(): number[] {
    return (this.#s['hostIds']!.all() as { id: number }[]).map((r) => r.id);
  }

  /** Rolls up to maxMinutesPerPass closed minutes; true when more remain. */
  async #rollMinutes(): Promise<boolean> {
    const now = this.#o.now();
    let from = this.doneUntil('1m');
    if (from === null) {
      const oldest = (this.#s['oldestRaw']!.get() as { t: number | null }).t;
      if (oldest === null) return false;
      from = floorTo(oldest, MINUTE);
    }
    const target = floorTo(now - this.#o.graceMs, MINUTE);
    if (from >= target) return false;
    const to = Math.min(target, from + this.#o.maxMinutesPerPass * MINUTE);
    const fleet = new Map<number, Agg[]>();
    const hosts = this.#hosts();
    for (let i = 0; i < hosts.length; i += this.#o.hostsPerSlice) {
      const slice = hosts.slice(i, i + this.#o.hostsPerSlice);
      this.#db
        .transaction(() => {
          for (const id of slice)
            for (const [bucket, agg] of this.#rollHost(id, from, to)) {
              let list = fleet.get(bucket);
              if (list === undefined) fleet.set(bucket, (list = []));
              list.push(agg);
            }
        })
        .immediate();
      this.stats.slices++;
      await yieldNow();
    }
    this.#db
      .transaction(() => {
        for (const [bucket, aggs] of fleet) this.#s['putFleet']!.run(bucket, aggs.length, encodeFleet(aggs));
        this.#s['setState']!.run('1m', to);
        this.#done1m = to;
      })
      .immediate();
    this.stats.minutesRolled += (to - from) / MINUTE;
    return to < target;
  }

  /** How many counters a layout has: where a values blob's fixed numbers end (codec/snapshot-values.ts). */
  #counters(layoutId: number): number {
    let n = this.#layoutCounters.get(layoutId);
    if (n === undefined) {
      const row = this.#s['layout']!.get(layoutId) as { fields: string } | undefined;
      n = layoutCounters(row?.fields ?? '');
      this.#layoutCounters.set(layoutId, n);
    }
    return n;
  }

  /** Aggregates one host's raw snapshots in [from, to) by minute and stores them. */
  #rollHost(id: number, from: number, to: number): Map<number, Agg> {
    const out = minuteAggs(this.#s['raw']!.iterate(id, from, to) as Iterable<RawSample>, (l) => this.#counters(l));
    for (const [bucket, a] of out) this.#s['put1m']!.run(id, bucket, a.lastTs, encodeAgg(a));
    this.#ns.rollMinutes(id, from, to);
    return out;
  }

  async #rerollDirty(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    const buckets = new Set<number>();
    for (const [id, minutes] of dirty) {
      this.#db
        .transaction(() => {
          for (const m of minutes) {
            this.#s['del1m']!.run(id, m);
            this.#ns.rerollMinute(id, m);
            this.#rollHost(id, m, m + MINUTE);
            buckets.add(m);
            this.stats.dirtyRerolled++;
          }
        })
        .immediate();
      await yieldNow();
    }
    const doneH = this.doneUntil('1h');
    const hours = new Map<number, Set<number>>();
    this.#db
      .transaction(() => {
        for (const b of buckets) {
          const rows = this.#s['bucket1m']!.all(b) as { last_ts: number; vals: Buffer }[];
          if (rows.length === 0) this.#s['delFleet']!.run(b);
          else this.#s['putFleet']!.run(b, rows.length, encodeFleet(rows.map((r) => decodeAgg(r.vals, r.last_ts))));
        }
        // Hours already rolled that contain a dirty minute are rolled again from rollup_1m.
        for (const [id, minutes] of dirty)
          for (const m of minutes)
            if (doneH !== null && m < doneH) {
              const set = hours.get(id) ?? new Set<number>();
              set.add(floorTo(m, HOUR));
              hours.set(id, set);
            }
        for (const [id, hs] of hours) for (const h of hs) this.#rollHostHours(id, h, h + HOUR);
      })
      .immediate();
  }

  /** Rolls closed hours of rollup_1m into rollup_1h. */
  async #rollHours(): Promise<void> {
    const done1m = this.doneUntil('1m');
    if (done1m === null) return;
    let from = this.doneUntil('1h');
    if (from === null) {
      const oldest = (this.#s['oldest1m']!.get() as { t: number | null }).t;
      if (oldest === null) return;
      from = floorTo(oldest, HOUR);
    }
    const target = floorTo(done1m, HOUR);
    for (let guard = 0; from < target && guard < 100_000 && !this.#stopped; guard++) {
      const to = Math.min(target, from + 24 * HOUR);
      const hosts = this.#hosts();
      for (let i = 0; i < hosts.length; i += this.#o.hostsPerSlice) {
        const slice = hosts.slice(i, i + this.#o.hostsPerSlice);
        const f = from;
        this.#db
          .transaction(() => {
            for (const id of slice) this.#rollHostHours(id, f, to);
          })
          .immediate();
        this.stats.slices++;
        await yieldNow();
      }
      this.#s['setState']!.run('1h', to);
      this.stats.hoursRolled += (to - from) / HOUR;
      from = to;
    }
  }

  #rollHostHours(id: number, from: number, to: number): void {
    const out = hourAggs(this.#s['get1m']!.iterate(id, from, to) as Iterable<MinuteRow>);
    for (const [h, a] of out) this.#s['put1h']!.run(id, h, a.lastTs, encodeAgg(a));
    this.#ns.rollHours(id, from, to);
  }

  /**
   * Deletes expired rows: at most pruneBatch rows and hostsPerSlice hosts per transaction. The
   * hosts are walked in one pass of transactions, each covering hosts until its budget of rows is
   * spent (a host with more left is taken up by the next transaction where this one stopped): at
   * 10,000 hosts with nothing expired that is 40 transactions, where one transaction per host and
   * table made 70,000 (issue 11: 17% of the write thread during an ingest benchmark).
   */
  async #prune(): Promise<void> {
    const now = this.#o.now();
    const done1m = this.doneUntil('1m');
    const done1h = this.doneUntil('1h');
    // Raw data goes only once rolled up; one-minute rows only once rolled into hours.
    const rawCut = done1m === null ? null : Math.min(now - this.#o.rawRetentionMs, done1m);
    const minCut = done1h === null ? null : Math.min(now - this.#o.minuteRetentionMs, done1h);
    const hourCut = now - this.#o.hourRetentionMs;
    // Nothing expires between passes closer than a minute apart.
    if ((rawCut === null || rawCut - this.#lastRawCut < MINUTE) && now - this.#lastPrune < MINUTE) return;
    this.#lastPrune = now;
    if (rawCut !== null) this.#lastRawCut = rawCut;
    const batch = this.#o.pruneBatch;
    const hosts = this.#hosts();
    // One host's deletions in order: each deletes at most `limit` of the host's expired rows of
    // one table and counts them in its stat.
    const steps: ((id: number, limit: number) => number)[] = [];
    const add = (stat: 'rawPruned' | 'minutePruned' | 'hourPruned' | 'nsPruned', del: (id: number, limit: number) => number): void => {
      steps.push((id, limit) => {
        const n = del(id, limit);
        this.stats[stat] += n;
        return n;
      });
    };
    if (rawCut !== null) add('rawPruned', (id, n) => this.#s['pruneRaw']!.run(id, rawCut, n).changes);
    if (minCut !== null) add('minutePruned', (id, n) => this.#s['prune1m']!.run(id, minCut, n).changes);
    add('hourPruned', (id, n) => this.#s['prune1h']!.run(id, hourCut, n).changes);
    if (rawCut !== null) add('nsPruned', (id, n) => this.#ns.prune('raw', id, rawCut, n));
    if (minCut !== null) add('nsPruned', (id, n) => this.#ns.prune('1m', id, minCut, n));
    add('nsPruned', (id, n) => this.#ns.prune('1h', id, hourCut, n));
    // The host's namespace series, last: unbounded (a host has a few), never taken up again.
    steps.push((id) => {
      this.#ns.pruneSeries(id, hourCut);
      return 0;
    });
    let host = 0;
    let step = 0;
    for (let guard = 0; host < hosts.length && guard < 10_000_000 && !this.#stopped; guard++) {
      this.#db
        .transaction(() => {
          let left = batch;
          for (let visited = 0; host < hosts.length && visited < this.#o.hostsPerSlice; visited++) {
            for (; step < steps.length; step++) {
              left -= steps[step]!(hosts[host]!, left);
              // A step that used up the budget may have more: the next transaction asks it again.
              if (left <= 0) return;
            }
            step = 0;
            host++;
          }
        })
        .immediate();
      this.stats.slices++;
      await yieldNow();
    }
    for (let i = 0; i < 1_000_000 && !this.#stopped; i++) {
      const n = this.#s['pruneFleet']!.run(now - this.#o.minuteRetentionMs, batch).changes;
      await yieldNow();
      if (n < batch) break;
    }
  }
}
