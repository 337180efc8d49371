/**
 * Rollups and retention of namespace series (issue 10), as for hosts (store/rollups.ts): the
 * RollupJob calls these inside its own slices and transactions, host by host, so a host's
 * namespaces are rolled and pruned with it. Rows hold the same aggregate as a host's
 * (store/rollup-codec.ts); `interval_ms` is the host's.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { parseLayout } from '@tcpfleet/common';
import { addAgg, addSample, aggOf, decodeAgg, encodeAgg } from './rollup-codec.js';
import type { Agg } from './rollup-codec.js';
import { nsRollupSample } from './ns-values.js';

const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;

export class NsRollups {
  readonly #s: Record<string, Statement>;
  readonly #names = new Map<number, readonly string[]>();

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.#s = {
      series: p('SELECT netns FROM ns_series WHERE host_id = ? ORDER BY netns'),
      interval: p('SELECT interval_ms FROM hosts WHERE id = ?'),
      layout: p('SELECT fields FROM layouts WHERE id = ?'),
      raw: p('SELECT ts, vals, layout_id FROM ns_snapshots WHERE host_id = ? AND netns = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      put1m: p('INSERT OR REPLACE INTO ns_rollup_1m (host_id, netns, bucket, last_ts, vals) VALUES (?, ?, ?, ?, ?)'),
      del1m: p('DELETE FROM ns_rollup_1m WHERE host_id = ? AND bucket = ?'),
      get1m: p('SELECT bucket, last_ts, vals FROM ns_rollup_1m WHERE host_id = ? AND netns = ? AND bucket >= ? AND bucket < ? ORDER BY bucket'),
      put1h: p('INSERT OR REPLACE INTO ns_rollup_1h (host_id, netns, bucket, last_ts, vals) VALUES (?, ?, ?, ?, ?)'),
      pruneRaw: p(`DELETE FROM ns_snapshots WHERE (host_id, netns, ts, boot_id, seq) IN
                   (SELECT host_id, netns, ts, boot_id, seq FROM ns_snapshots WHERE host_id = ? AND netns = ? AND ts < ? LIMIT ?)`),
      prune1m: p('DELETE FROM ns_rollup_1m WHERE (host_id, netns, bucket) IN (SELECT host_id, netns, bucket FROM ns_rollup_1m WHERE host_id = ? AND netns = ? AND bucket < ? LIMIT ?)'),
      prune1h: p('DELETE FROM ns_rollup_1h WHERE (host_id, netns, bucket) IN (SELECT host_id, netns, bucket FROM ns_rollup_1h WHERE host_id = ? AND netns = ? AND bucket < ? LIMIT ?)'),
      // A series with nothing left (no latest entry, no history, no rollups) and not seen since `cut`.
      pruneSeries: p(`DELETE FROM ns_series WHERE host_id = ? AND last_seen < ?
                      AND NOT EXISTS (SELECT 1 FROM ns_latest l WHERE l.host_id = ns_series.host_id AND l.netns = ns_series.netns)
                      AND NOT EXISTS (SELECT 1 FROM ns_snapshots n WHERE n.host_id = ns_series.host_id AND n.netns = ns_series.netns)
                      AND NOT EXISTS (SELECT 1 FROM ns_rollup_1m n WHERE n.host_id = ns_series.host_id AND n.netns = ns_series.netns)
                      AND NOT EXISTS (SELECT 1 FROM ns_rollup_1h n WHERE n.host_id = ns_series.host_id AND n.netns = ns_series.netns)`),
    };
  }

  #series(hostId: number): number[] {
    return (this.#s['series']!.all(hostId) as { netns: number }[]).map((r) => r.netns);
  }

  #snmpNames(layoutId: number): readonly string[] {
    let n = this.#names.get(layoutId);
    if (n === undefined) {
      n = parseLayout((this.#s['layout']!.get(layoutId) as { fields: string } | undefined)?.fields ?? '|').snmp;
      this.#names.set(layoutId, n);
    }
    return n;
  }

  /** Aggregates a host's namespaces' raw entries in [from, to) by minute into ns_rollup_1m. */
  rollMinutes(hostId: number, from: number, to: number): number {
    const interval = (this.#s['interval']!.get(hostId) as { interval_ms: number } | undefined)?.interval_ms ?? 0;
    let rows = 0;
    for (const netns of this.#series(hostId)) {
      const out = new Map<number, Agg>();
      for (const r of this.#s['raw']!.iterate(hostId, netns, from, to) as Iterable<{ ts: number; vals: Buffer; layout_id: number }>) {
        const sample = { ts: r.ts, interval_ms: interval, ...nsRollupSample(r.vals, this.#snmpNames(r.layout_id)) };
        const bucket = floorTo(r.ts, 60_000);
        const a = out.get(bucket);
        if (a === undefined) out.set(bucket, aggOf(sample));
        else addSample(a, sample);
      }
      for (const [bucket, a] of out) this.#s['put1m']!.run(hostId, netns, bucket, a.lastTs, encodeAgg(a));
      rows += out.size;
    }
    return rows;
  }

  /** Rolls one minute of a host's namespaces again (late entries arrived for it). */
  rerollMinute(hostId: number, minute: number): void {
    this.#s['del1m']!.run(hostId, minute);
    this.rollMinutes(hostId, minute, minute + 60_000);
  }

  /** Rolls a host's namespaces' one-minute rows in [from, to) into hours. */
  rollHours(hostId: number, from: number, to: number): void {
    for (const netns of this.#series(hostId)) {
      const out = new Map<number, Agg>();
      for (const r of this.#s['get1m']!.iterate(hostId, netns, from, to) as Iterable<{ bucket: number; last_ts: number; vals: Buffer }>) {
        const a = decodeAgg(r.vals, r.last_ts);
        const h = floorTo(r.bucket, 3_600_000);
        const cur = out.get(h);
        if (cur === undefined) out.set(h, a);
        else addAgg(cur, a);
      }
      for (const [h, a] of out) this.#s['put1h']!.run(hostId, netns, h, a.lastTs, encodeAgg(a));
    }
  }

  /**
   * Deletes at most `batch` expired rows of one kind over a host's namespaces (one call: one
   * transaction of the caller); `more` when the batch filled up (call again).
   */
  prune(kind: 'raw' | '1m' | '1h', hostId: number, cut: number, batch: number): { deleted: number; more: boolean } {
    const stmt = this.#s[kind === 'raw' ? 'pruneRaw' : kind === '1m' ? 'prune1m' : 'prune1h']!;
    let deleted = 0;
    for (const netns of this.#series(hostId)) {
      deleted += stmt.run(hostId, netns, cut, batch - deleted).changes;
      if (deleted >= batch) return { deleted, more: true };
    }
    return { deleted, more: false };
  }

  /** Forgets a host's series that have nothing stored left and were last seen before `cut`. */
  pruneSeries(hostId: number, cut: number): number {
    return this.#s['pruneSeries']!.run(hostId, cut).changes;
  }
}
