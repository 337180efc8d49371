/**
 * History of one namespace series (host, netns; issue 10) at the resolution that covers the asked
 * range, in pages: the same rule, stages and keys as a host's history (store/rollup-history.ts).
 * Raw rows are the entries as stored (NsStoredEntry); rollup rows have the entry's shape with the
 * last value of the bucket, empty snmp, plus `resolution` and `rollup` {n, last_ts, min, max, mean}.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ContainerIdentity } from '@tcpfleet/common';
import type { NsRawHistory, NsStoredEntry, Resolution } from './store.js';
import { HOUR, MINUTE } from './rollups.js';
import { planPage } from './keyset-pages.js';
import type { KeyedSource, Page, Stage } from './keyset-pages.js';
import { STAGE_RANK, bucketSource, bucketStatements, pickResolution, rawKey, toRow } from './rollup-history.js';
import type { HistoryPosition } from './store.js';

/** A namespace history row: a raw entry or a rollup of entries. */
export type NsHistoryRow = NsStoredEntry | (Omit<NsStoredEntry, 'pid'> & { resolution: '1m' | '1h'; rollup: unknown });

interface BucketRow {
  bucket: number;
  last_ts: number;
  vals: Buffer;
}

export class NsHistoryReader {
  readonly #store: NsRawHistory;
  readonly #s: Record<string, Statement>;
  readonly #rawRetentionMs: number;

  constructor(db: Db, store: NsRawHistory, rawRetentionMs: number) {
    this.#store = store;
    this.#rawRetentionMs = rawRetentionMs;
    const p = (sql: string): Statement => db.prepare(sql);
    const series = 'host_id = ? AND netns = ?';
    this.#s = {
      state: p('SELECT done_until FROM rollup_state WHERE resolution = ?'),
      host: p('SELECT id FROM hosts WHERE name = ?'),
      container: p('SELECT container FROM ns_series WHERE host_id = ? AND netns = ?'),
      ...bucketStatements(p, 'ns_rollup_1m', '1m', series, 'bucket, last_ts, vals'),
      ...bucketStatements(p, 'ns_rollup_1h', '1h', series, 'bucket, last_ts, vals'),
    };
  }

  #done(res: '1m' | '1h'): number {
    return (this.#s['state']!.get(res) as { done_until: number } | undefined)?.done_until ?? -Infinity;
  }

  /** The page of a series' history over [since, until) that follows `from` (null: the first page). */
  historyPage(host: string, netns: number, since: number, until: number, limit: number, now: number, from: HistoryPosition | null): { resolution: Resolution; page: Page<NsHistoryRow> } {
    const resolution = from?.resolution ?? pickResolution(since, now, this.#rawRetentionMs);
    const h = this.#s['host']!.get(host) as { id: number } | undefined;
    if (h === undefined) return { resolution, page: planPage([], null, limit) };
    const c = this.#s['container']!.get(h.id, netns) as { container: string | null } | undefined;
    const container = c?.container == null ? null : (JSON.parse(c.container) as ContainerIdentity);
    const stages: Stage<NsHistoryRow>[] = [];
    let lo = since;
    const rollStage = (res: '1m' | '1h', rank: number): void => {
      const width = res === '1m' ? MINUTE : HOUR;
      const first = Math.floor(lo / width) * width;
      const hi = Math.min(until, this.#done(res));
      if (hi <= first) return;
      stages.push({ name: res, rank, start: [first - 1], source: bucketSource(this.#s, res, [h.id, netns], hi, (r: BucketRow) => rollupRow(host, netns, container, res, width, r)) });
      lo = Math.max(lo, hi);
    };
    if (resolution === '1h') rollStage('1h', 0);
    if (resolution !== 'raw') rollStage('1m', 1);
    if (lo < until) stages.push({ name: 'raw', rank: 2, start: [lo - 1, Infinity, Infinity], source: this.#rawSource(host, netns, until) });
    return { resolution, page: planPage(stages, from === null ? null : { stage: from.stage, rank: STAGE_RANK[from.stage] ?? 0, key: from.key }, limit) };
  }

  #rawSource(host: string, netns: number, until: number): KeyedSource<NsHistoryRow> {
    const st = this.#store;
    return {
      seek: (after, n) => st.nsRawSeek(host, netns, rawKey(after), until, n),
      any: (after) => st.nsRawAny(host, netns, rawKey(after), until),
      slice: (after, end, n) => st.nsRawSlice(host, netns, rawKey(after), rawKey(end), n),
    };
  }
}

export function rollupRow(host: string, netns: number, container: ContainerIdentity | null, res: '1m' | '1h', width: number, r: BucketRow): NsHistoryRow {
  const h = toRow(host, {}, res, width, r);
  return {
    host,
    netns,
    container,
    ts: h.ts,
    seq: 0,
    boot: '',
    recv_ts: h.recv_ts,
    states: h.states,
    ipv4: h.ipv4,
    ipv6: h.ipv6,
    summary: h.summary,
    sockstat: h.sockstat,
    snmp: {},
    collect: { states_age_ms: 0, states_unchanged: false, skipped: 0, errors: [] },
    resolution: h.resolution,
    rollup: h.rollup,
  };
}
