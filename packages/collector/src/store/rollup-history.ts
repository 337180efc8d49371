/**
 * History at the resolution that covers the asked range.
 *
 * The rule (docs/storage.md, "History resolution"): a range starting within the raw retention is answered from raw
 * snapshots; one starting within 30 days from one-minute rollups; older from one-hour rollups.
 * The answer is continuous: coarse rows up to where that resolution is rolled, then the finer
 * ones, then raw snapshots up to now. Rows from rollups have the snapshot shape with the last
 * value of the bucket in states/ipv4/ipv6/summary/sockstat, `interval_ms` = the bucket width,
 * empty snmp/netstat, plus `resolution` ("1m" or "1h") and `rollup` {n, last_ts, min, max, mean}.
 *
 * Answers come in pages (store/keyset-pages.ts): the stages 1h, 1m, raw in that order, each read
 * by key (bucket; or ts, boot, seq), so a walk through a long history is a series of bounded
 * pages whose rows are read in slices.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { HistoryPosition, RawHistory, RawKey, Resolution, Store, StoredSnapshot } from './store.js';
import { decodeAgg, decodeInts, lastOnlyParts, statesAndSummary, AGG_METRICS } from './rollup-codec.js';
import { DAY, HOUR, MINUTE } from './rollups.js';
import { planPage } from './keyset-pages.js';
import type { Key, KeyedSource, Page, Stage } from './keyset-pages.js';

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
  readonly #store: Store & RawHistory;
  readonly #s: Record<string, Statement>;
  readonly #rawRetentionMs: number;
  readonly #minuteRetentionMs: number;

  constructor(db: Db, store: Store & RawHistory, rawRetentionMs: number, minuteRetentionMs = 30 * DAY) {
    this.#db = db;
    this.#store = store;
    this.#rawRetentionMs = rawRetentionMs;
    this.#minuteRetentionMs = minuteRetentionMs;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#s = {
      state: p('SELECT done_until FROM rollup_state WHERE resolution = ?'),
      host: p('SELECT id, labels FROM hosts WHERE name = ?'),
      fleet: p('SELECT bucket, hosts, vals FROM rollup_fleet_1m WHERE bucket >= ? AND bucket < ? ORDER BY bucket'),
      ...bucketStatements(p, 'rollup_1m', '1m', 'host_id = ?', 'bucket, last_ts, vals'),
      ...bucketStatements(p, 'rollup_1h', '1h', 'host_id = ?', 'bucket, last_ts, vals'),
      ...bucketStatements(p, 'rollup_fleet_1m', 'fleet', '', 'bucket, hosts, vals'),
    };
  }

  #done(res: '1m' | '1h'): number {
    return (this.#s['state']!.get(res) as { done_until: number } | undefined)?.done_until ?? -Infinity;
  }

  /** A host's history over [since, until), at most `limit` rows, with the resolution used (one page, read at once). */
  history(host: string, since: number, until: number, limit: number, now: number): Promise<{ resolution: Resolution; rows: StoredSnapshot[] }> {
    const { resolution, page } = this.historyPage(host, since, until, limit, now, null);
    const rows: StoredSnapshot[] = [];
    for (let got = page.read(1000); got.length > 0; got = page.read(1000)) rows.push(...got);
    return Promise.resolve({ resolution, rows });
  }

  /**
   * The page of a host's history over [since, until) that follows `from` (null: the first page),
   * at most `limit` rows. A walk keeps the resolution of its first page (`from.resolution`).
   */
  historyPage(host: string, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): { resolution: Resolution; page: Page<StoredSnapshot> } {
    const resolution = from?.resolution ?? pickResolution(since, now, this.#rawRetentionMs, this.#minuteRetentionMs);
    const h = this.#s['host']!.get(host) as { id: number; labels: string } | undefined;
    if (h === undefined) return { resolution, page: planPage([], null, limit) };
    const labels = JSON.parse(h.labels) as Record<string, string>;
    const stages: Stage<StoredSnapshot>[] = [];
    let lo = since;
    const rollStage = (res: '1m' | '1h', rank: number): void => {
      const width = res === '1m' ? MINUTE : HOUR;
      const first = Math.floor(lo / width) * width; // the bucket that holds `lo`
      const hi = Math.min(until, this.#done(res));
      if (hi <= first) return;
      stages.push({ name: res, rank, start: [first - 1], source: bucketSource(this.#s, res, [h.id], hi, (r: BucketRow) => toRow(host, labels, res, width, r)) });
      lo = Math.max(lo, hi);
    };
    if (resolution === '1h') rollStage('1h', 0);
    if (resolution !== 'raw') rollStage('1m', 1);
    if (lo < until) stages.push({ name: 'raw', rank: 2, start: [lo - 1, Infinity, Infinity], source: rawSource(this.#store, host, until) });
    return { resolution, page: planPage(stages, from === null ? null : { stage: from.stage, rank: STAGE_RANK[from.stage] ?? 0, key: from.key }, limit) };
  }

  /** The page of the fleet's one-minute sums over [since, until) after bucket `after` (null: the first page). */
  fleetPage(since: number, until: number, limit: number, after: number | null): Page<FleetMinute> {
    const stage: Stage<FleetMinute> = { name: 'fleet', rank: 0, start: [since - 1], source: bucketSource(this.#s, 'fleet', [], until, fleetRow) };
    return planPage([stage], after === null ? null : { stage: 'fleet', rank: 0, key: [after] }, limit);
  }

  /** The fleet's one-minute sums over [since, until): sum over hosts of each host's last, min, max, mean. */
  fleetHistory(since: number, until: number): FleetMinute[] {
    return (this.#s['fleet']!.all(since, until) as BucketRow[]).map(fleetRow);
  }

  /** The underlying connection (tests). */
  get db(): Db {
    return this.#db;
  }
}

export const STAGE_RANK: Record<string, number> = { '1h': 0, '1m': 1, raw: 2 };

/** A minute of the fleet's sums, as /api/v1/total/history answers it. */
export interface FleetMinute {
  ts: number;
  hosts: number;
  resolution: '1m';
  states: MetricSet['states'];
  summary: MetricSet['summary'];
  min: MetricSet;
  max: MetricSet;
  mean: MetricSet;
}

/** A row of a bucketed table (rollup_1m, rollup_1h: last_ts; rollup_fleet_1m: hosts). */
export interface BucketRow {
  bucket: number;
  last_ts: number;
  hosts: number;
  vals: Buffer;
}

/**
 * The keyset statements of a bucketed table (`${name}KeyAt`, `Count`, `LastKey`, `Slice`) over its
 * rows that match `where` (its parameters first; '' for every row); the slice selects `cols`.
 */
export function bucketStatements(p: (sql: string) => Statement, table: string, name: string, where: string, cols: string): Record<string, Statement> {
  const w = where === '' ? '' : `${where} AND `;
  return {
    [`${name}KeyAt`]: p(`SELECT bucket FROM ${table} WHERE ${w}bucket > ? AND bucket < ? ORDER BY bucket LIMIT 1 OFFSET ?`),
    [`${name}Count`]: p(`SELECT count(*) AS count FROM (SELECT 1 FROM ${table} WHERE ${w}bucket > ? AND bucket < ? LIMIT ?)`),
    [`${name}LastKey`]: p(`SELECT bucket FROM ${table} WHERE ${w}bucket > ? AND bucket < ? ORDER BY bucket DESC LIMIT 1`),
    [`${name}Slice`]: p(`SELECT ${cols} FROM ${table} WHERE ${w}bucket > ? AND bucket <= ? ORDER BY bucket LIMIT ?`),
  };
}

/** The rows of a bucketed table (statements `name` of bucketStatements, `args`: their `where` parameters) before `hi`, keyed by bucket. */
export function bucketSource<R extends { bucket: number }, T>(s: Record<string, Statement>, name: string, args: readonly unknown[], hi: number, toT: (r: R) => T): KeyedSource<T> {
  return {
    seek: (after, n) => {
      const at = s[`${name}KeyAt`]!.get(...args, after[0]!, hi, n - 1) as { bucket: number } | undefined;
      if (at !== undefined) return { count: n, last: [at.bucket] };
      const { count } = s[`${name}Count`]!.get(...args, after[0]!, hi, n) as { count: number };
      const last = count === 0 ? undefined : (s[`${name}LastKey`]!.get(...args, after[0]!, hi) as { bucket: number } | undefined);
      return { count, last: last === undefined ? null : [last.bucket] };
    },
    any: (after) => s[`${name}KeyAt`]!.get(...args, after[0]!, hi, 0) !== undefined,
    slice: (after, end, n) => {
      const rows: T[] = [];
      let last: number | null = null;
      for (const r of s[`${name}Slice`]!.iterate(...args, after[0]!, end[0]!, n) as IterableIterator<R>) {
        rows.push(toT(r));
        last = r.bucket;
      }
      return { rows, last: last === null ? null : [last] };
    },
  };
}

/** A page key as a raw history key (missing parts: -Infinity). */
export function rawKey(k: Key): RawKey {
  return [k[0] ?? -Infinity, k[1] ?? -Infinity, k[2] ?? -Infinity];
}

/** The raw stage of a host's history before `until`, read through the store. */
function rawSource(store: RawHistory, host: string, until: number): KeyedSource<StoredSnapshot> {
  return {
    seek: (after, n) => store.rawSeek(host, rawKey(after), until, n),
    any: (after) => store.rawAny(host, rawKey(after), until),
    slice: (after, end, n) => store.rawSlice(host, rawKey(after), rawKey(end), n),
  };
}

export function fleetRow(r: BucketRow): FleetMinute {
  const v = decodeInts(r.vals);
  const pick = (k: number, scale = 1): number[] => Array.from({ length: AGG_METRICS }, (_, i) => (v[i * 4 + k] ?? 0) / scale);
  const last = statesAndSummary(pick(0));
  return {
    ts: r.bucket,
    hosts: r.hosts,
    resolution: '1m' as const,
    states: last.states,
    summary: last.summary,
    min: statesAndSummary(pick(1)),
    max: statesAndSummary(pick(2)),
    mean: statesAndSummary(pick(3, 1000), true),
  };
}

/** A host history row from a rollup row (also the base of a namespace's: store/ns-history.ts). */
export function toRow(host: string, labels: Record<string, string>, res: '1m' | '1h', width: number, r: { bucket: number; last_ts: number; vals: Uint8Array }): RollupSnapshot {
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
      mean: statesAndSummary(
        a.sum.map((s) => s / Math.max(1, a.n)),
        true,
      ),
    },
  };
}
