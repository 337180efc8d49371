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
import { LAST_SEEN_STEP_MS } from './ns-store.js';

const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;

export class NsRollups {
  readonly #s: Record<string, Statement>;
  readonly #names = new Map<number, readonly string[]>();

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.#s = {
      interval: p('SELECT interval_ms FROM hosts WHERE id = ?'),
      layout: p('SELECT fields FROM layouts WHERE id = ?'),
      raw: p('SELECT netns, ts, vals, layout_id FROM ns_snapshots WHERE host_id = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      put1m: p('INSERT OR REPLACE INTO ns_rollup_1m (host_id, netns, bucket, last_ts, vals) VALUES (?, ?, ?, ?, ?)'),
      del1m: p('DELETE FROM ns_rollup_1m WHERE host_id = ? AND bucket = ?'),
      get1m: p('SELECT netns, bucket, last_ts, vals FROM ns_rollup_1m WHERE host_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket'),
      put1h: p('INSERT OR REPLACE INTO ns_rollup_1h (host_id, netns, bucket, last_ts, vals) VALUES (?, ?, ?, ?, ?)'),
      pruneRaw: p(`DELETE FROM ns_snapshots WHERE (host_id, ts, boot_id, seq, netns) IN
                   (SELECT host_id, ts, boot_id, seq, netns FROM ns_snapshots WHERE host_id = ? AND ts < ? LIMIT ?)`),
      prune1m: p('DELETE FROM ns_rollup_1m WHERE (host_id, bucket, netns) IN (SELECT host_id, bucket, netns FROM ns_rollup_1m WHERE host_id = ? AND bucket < ? LIMIT ?)'),
      prune1h: p('DELETE FROM ns_rollup_1h WHERE (host_id, bucket, netns) IN (SELECT host_id, bucket, netns FROM ns_rollup_1h WHERE host_id = ? AND bucket < ? LIMIT ?)'),
      // A series last stored before `cut` (the one-hour retention, less what its last_seen may
      // lag) has no rows left anywhere: the longest retention pruned them.
      pruneSeries: p(`DELETE FROM ns_series WHERE host_id = ? AND last_seen < ? - ${LAST_SEEN_STEP_MS}
                      AND NOT EXISTS (SELECT 1 FROM ns_latest l WHERE l.host_id = ns_series.host_id AND l.netns = ns_series.netns)`),
    };
  }

  #snmpNames(layoutId: number): readonly string[] {
    let n = this.#names.get(layoutId);
    if (n === undefined) {
      n = parseLayout((this.#s['layout']!.get(layoutId) as { fields: string } | undefined)?.fields ?? '|').snmp;
      this.#names.set(layoutId, n);
    }
    return n;
  }

  /** Aggregates a host's namespaces' raw entries in [from, to) by minute into ns_rollup_1m (one scan of the host's rows). */
  rollMinutes(hostId: number, from: number, to: number): number {
    const interval = (this.#s['interval']!.get(hostId) as { interval_ms: number } | undefined)?.interval_ms ?? 0;
    const out = new Map<string, { netns: number; bucket: number; agg: Agg }>();
    for (const r of this.#s['raw']!.iterate(hostId, from, to) as Iterable<{ netns: number; ts: number; vals: Buffer; layout_id: number }>) {
      const sample = { ts: r.ts, interval_ms: interval, ...nsRollupSample(r.vals, this.#snmpNames(r.layout_id)) };
      const bucket = floorTo(r.ts, 60_000);
      const key = `${r.netns}/${bucket}`;
      const a = out.get(key);
      if (a === undefined) out.set(key, { netns: r.netns, bucket, agg: aggOf(sample) });
      else addSample(a.agg, sample);
    }
    for (const { netns, bucket, agg } of out.values()) this.#s['put1m']!.run(hostId, netns, bucket, agg.lastTs, encodeAgg(agg));
    return out.size;
  }

  /** Rolls one minute of a host's namespaces again (late entries arrived for it). */
  rerollMinute(hostId: number, minute: number): void {
    this.#s['del1m']!.run(hostId, minute);
    this.rollMinutes(hostId, minute, minute + 60_000);
  }

  /** Rolls a host's namespaces' one-minute rows in [from, to) into hours. */
  rollHours(hostId: number, from: number, to: number): void {
    const out = new Map<string, { netns: number; hour: number; agg: Agg }>();
    for (const r of this.#s['get1m']!.iterate(hostId, from, to) as Iterable<{ netns: number; bucket: number; last_ts: number; vals: Buffer }>) {
      const a = decodeAgg(r.vals, r.last_ts);
      const hour = floorTo(r.bucket, 3_600_000);
      const key = `${r.netns}/${hour}`;
      const cur = out.get(key);
      if (cur === undefined) out.set(key, { netns: r.netns, hour, agg: a });
      else addAgg(cur.agg, a);
    }
    for (const { netns, hour, agg } of out.values()) this.#s['put1h']!.run(hostId, netns, hour, agg.lastTs, encodeAgg(agg));
  }

  /**
   * Deletes at most `batch` expired rows of one kind of a host's namespaces, inside the caller's
   * transaction; returns the rows deleted (`batch` of them: there may be more).
   */
  prune(kind: 'raw' | '1m' | '1h', hostId: number, cut: number, batch: number): number {
    return this.#s[kind === 'raw' ? 'pruneRaw' : kind === '1m' ? 'prune1m' : 'prune1h']!.run(hostId, cut, batch).changes;
  }

  /** Forgets a host's series last stored before `cut` (the one-hour rows' retention): nothing of them is left. */
  pruneSeries(hostId: number, cut: number): number {
    return this.#s['pruneSeries']!.run(hostId, cut).changes;
  }
}
