/**
 * History at the resolution that covers the asked range.
 *
 * The rule (docs/storage.md, "History resolution"): a range starting within the raw retention is answered from raw
 * snapshots; one starting within 30 days from one-minute rollups; older from one-hour rollups.
 * The answer is continuous: coarse rows up to where that resolution is rolled, then the finer
 * ones, then raw snapshots up to now. Rows from rollups have the snapshot shape with the last
 * value of the bucket in states/ipv4/ipv6/summary/sockstat, `interval_ms` = the bucket width,
 * empty snmp/netstat, plus `resolution` ("1m" or "1h") and `rollup` {n, last_ts, min, max, mean}.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Resolution, Store, StoredSnapshot } from './store.js';
import { decodeAgg, decodeInts, lastOnlyParts, statesAndSummary, AGG_METRICS } from './rollup-codec.js';
import { DAY, HOUR, MINUTE } from './rollups.js';

/** Which resolution answers a range starting at `since`. */
export function pickResolution(since: number, now: number, rawRetentionMs: number, minuteRetentionMs = 30 * DAY): Resolution {
  if (since >= now - rawRetentionMs) return 'raw';
  if (since >= now - minuteRetentionMs) return '1m';
  return '1h';
}

/** A history element built from a rollup row. */
export type RollupSnapshot = StoredSnapshot & {
  resolution: '1m' | '1h';
  rollup: { n: number; last_ts: number; min: MetricSet; max: MetricSet; mean: MetricSet };
};
type MetricSet = ReturnType<typeof statesAndSummary>;

export class RollupReader {
  readonly #db: Db;
  readonly #store: Store;
  readonly #s: Record<string, Statement>;
  readonly #rawRetentionMs: number;
  readonly #minuteRetentionMs: number;

  constructor(db: Db, store: Store, rawRetentionMs: number, minuteRetentionMs = 30 * DAY) {
    this.#db = db;
    this.#store = store;
    this.#rawRetentionMs = rawRetentionMs;
    this.#minuteRetentionMs = minuteRetentionMs;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#s = {
      state: p('SELECT done_until FROM rollup_state WHERE resolution = ?'),
      host: p('SELECT id, labels FROM hosts WHERE name = ?'),
      r1m: p('SELECT bucket, last_ts, vals FROM rollup_1m WHERE host_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?'),
      r1h: p('SELECT bucket, last_ts, vals FROM rollup_1h WHERE host_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?'),
      fleet: p('SELECT bucket, hosts, vals FROM rollup_fleet_1m WHERE bucket >= ? AND bucket < ? ORDER BY bucket'),
    };
  }

  #done(res: '1m' | '1h'): number {
    return (this.#s['state']!.get(res) as { done_until: number } | undefined)?.done_until ?? -Infinity;
  }

  /** A host's history over [since, until), at most `limit` rows, with the resolution used. */
  async history(host: string, since: number, until: number, limit: number, now: number): Promise<{ resolution: Resolution; rows: StoredSnapshot[] }> {
    const resolution = pickResolution(since, now, this.#rawRetentionMs, this.#minuteRetentionMs);
    if (resolution === 'raw') return { resolution, rows: await this.#store.history(host, since, until, limit) };
    const h = this.#s['host']!.get(host) as { id: number; labels: string } | undefined;
    if (h === undefined) return { resolution, rows: [] };
    const labels = JSON.parse(h.labels) as Record<string, string>;
    const rows: StoredSnapshot[] = [];
    const done1m = this.#done('1m');
    const done1h = this.#done('1h');
    let from = since;
    const take = (stmt: '1m' | '1h', end: number): void => {
      const width = stmt === '1m' ? MINUTE : HOUR;
      const first = Math.floor(from / width) * width; // the bucket that holds `from`
      const hi = Math.min(until, end);
      if (hi <= first || rows.length >= limit) return;
      const got = this.#s[stmt === '1m' ? 'r1m' : 'r1h']!.all(h.id, first, hi, limit - rows.length) as { bucket: number; last_ts: number; vals: Buffer }[];
      for (const r of got) rows.push(toRow(host, labels, stmt, width, r));
      from = Math.max(from, hi);
    };
    if (resolution === '1h') take('1h', done1h);
    take('1m', done1m);
    if (from < until && rows.length < limit) rows.push(...(await this.#store.history(host, from, until, limit - rows.length)));
    return { resolution, rows };
  }

  /** The fleet's one-minute sums over [since, until): sum over hosts of each host's last, min, max, mean. */
  fleetHistory(since: number, until: number): { ts: number; hosts: number; resolution: '1m'; states: MetricSet['states']; summary: MetricSet['summary']; min: MetricSet; max: MetricSet; mean: MetricSet }[] {
    const rows = this.#s['fleet']!.all(since, until) as { bucket: number; hosts: number; vals: Buffer }[];
    return rows.map((r) => {
      const v = decodeInts(r.vals);
      const pick = (k: number, scale = 1): number[] => Array.from({ length: AGG_METRICS }, (_, i) => (v[i * 4 + k] ?? 0) / scale);
      const last = statesAndSummary(pick(0));
      return { ts: r.bucket, hosts: r.hosts, resolution: '1m' as const, states: last.states, summary: last.summary, min: statesAndSummary(pick(1)), max: statesAndSummary(pick(2)), mean: statesAndSummary(pick(3, 1000), true) };
    });
  }

  /** The underlying connection (tests). */
  get db(): Db {
    return this.#db;
  }
}

function toRow(host: string, labels: Record<string, string>, res: '1m' | '1h', width: number, r: { bucket: number; last_ts: number; vals: Buffer }): RollupSnapshot {
  const a = decodeAgg(r.vals, r.last_ts);
  const last = statesAndSummary(a.last);
  const { ipv4, ipv6, sockstat } = lastOnlyParts(a);
  return {
    host,
    ts: r.bucket,
    seq: 0,
    boot: '',
    interval_ms: width,
    labels,
    states: last.states,
    ipv4,
    ipv6,
    summary: last.summary,
    sockstat,
    snmp: {},
    netstat: {},
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
    recv_ts: r.last_ts,
    resolution: res,
    rollup: {
      n: a.n,
      last_ts: r.last_ts,
      min: statesAndSummary(a.min),
      max: statesAndSummary(a.max),
      mean: statesAndSummary(a.sum.map((s) => s / Math.max(1, a.n)), true),
    },
  };
}
