/**
 * The SQLite side of per-namespace series (issue 10; tables in store/migrations.ts, ns_*): what a
 * commit writes for the `namespaces` of its snapshots, and the reads of them. SqliteStore owns the
 * transaction; this class owns the statements.
 *
 * Write cost per entry of a snapshot: one insert into ns_snapshots (a commit's entries are
 * neighbours in its key). The latest set is a view (store/migrations.ts). ns_series is written
 * only when a series is new, its container identity changed, or its last_seen is a minute old.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ContainerIdentity, NamespaceEntry } from '@tcpfleet/common';
import type { NsRows } from './ingest-rows.js';
import type { NsSeries, NsStoredEntry, RawKey } from './store.js';
import { decodeNsValues } from './ns-values.js';
import { rawKeyStatements, rawSeekWith } from './raw-keys.js';

/** last_seen of a series is rewritten at most this often (it dates the series, not each snapshot). */
export const LAST_SEEN_STEP_MS = 600_000;

/** A stored namespace row as read (both drivers: store/pg/pg-namespaces.ts). */
export interface NsRow {
  netns: number;
  pid: number;
  layout_id: number;
  vals: Buffer;
  errors: string | null;
  container: string | null;
}

/** An entry from its stored row. */
export function entryOf(r: NsRow, snmpNames: (layoutId: number) => readonly string[]): NamespaceEntry {
  const v = decodeNsValues(r.vals, snmpNames(r.layout_id));
  return {
    netns: r.netns,
    pid: r.pid,
    container: r.container === null ? null : (JSON.parse(r.container) as ContainerIdentity),
    states: v.states,
    ipv4: v.ipv4,
    ipv6: v.ipv6,
    summary: v.summary,
    sockstat: v.sockstat,
    snmp: v.snmp,
    collect: { ...v.collect, errors: r.errors === null ? [] : (JSON.parse(r.errors) as string[]) },
  };
}

/** The keyset statements of one series' raw history, ordered by (ts, boot_id, seq): its host's rows of ns_snapshots, that netns's. */
function rawStatements(p: (sql: string) => Statement): Record<string, Statement> {
  const series = 's.host_id = (SELECT id FROM hosts WHERE name = ?) AND s.netns = ?';
  return {
    ...rawKeyStatements(p, 'ns', 'ns_snapshots', series),
    nsSlice: p(`SELECT s.netns, s.seq, s.ts, h.recv_ts, s.boot_id, s.pid, s.layout_id, s.vals, s.errors, b.boot, r.container
                FROM ns_snapshots s JOIN boots b ON b.id = s.boot_id LEFT JOIN ns_series r ON r.host_id = s.host_id AND r.netns = s.netns
                LEFT JOIN snapshots h ON h.host_id = s.host_id AND h.boot_id = s.boot_id AND h.seq = s.seq
                WHERE ${series} AND (s.ts, s.boot_id, s.seq) > (?, ?, ?) AND (s.ts, s.boot_id, s.seq) <= (?, ?, ?) ORDER BY s.ts, s.boot_id, s.seq LIMIT ?`),
  };
}

export class NsStore {
  readonly #s: Record<string, Statement>;
  /** Per host id, per netns: the container JSON and last_seen this process last wrote. */
  readonly #series = new Map<number, Map<number, { container: string | null; lastSeen: number }>>();

  constructor(db: Db, readonly: boolean) {
    const p = (sql: string): Statement => db.prepare(sql);
    const reads = {
      ...rawStatements(p),
      latestAll: p(`SELECT h.name AS host, n.netns, n.pid, n.layout_id, n.vals, n.errors, s.container
                    FROM ns_latest n JOIN hosts h ON h.id = n.host_id LEFT JOIN ns_series s ON s.host_id = n.host_id AND s.netns = n.netns
                    ORDER BY n.host_id, n.netns`),
      series: p(`SELECT s.netns, s.container, s.first_seen, s.last_seen FROM ns_series s
                 WHERE s.host_id = (SELECT id FROM hosts WHERE name = ?) ORDER BY s.netns`),
    };
    this.#s = readonly
      ? reads
      : {
          ...reads,
          insertSnap: p(`INSERT INTO ns_snapshots (host_id, netns, boot_id, seq, ts, pid, layout_id, vals, errors)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
          upsertSeries: p(`INSERT INTO ns_series (host_id, netns, runtime, container_id, container, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
                           ON CONFLICT (host_id, netns) DO UPDATE SET runtime = excluded.runtime, container_id = excluded.container_id,
                           container = excluded.container, last_seen = max(last_seen, excluded.last_seen)`),
          countLatest: p('SELECT count(*) AS n FROM ns_latest WHERE host_id = ?'),
          delSnapshots: p('DELETE FROM ns_snapshots WHERE host_id = ?'),
          delRollup1m: p('DELETE FROM ns_rollup_1m WHERE host_id = ?'),
          delRollup1h: p('DELETE FROM ns_rollup_1h WHERE host_id = ?'),
          delSeries: p('DELETE FROM ns_series WHERE host_id = ?'),
        };
  }

  /** Forgets what this process wrote (a failed transaction, a removed host). */
  clearCaches(): void {
    this.#series.clear();
  }

  /**
   * Inside the commit: the entries of snapshot `j` (a stored one, not a replay), from `at` in the
   * flat NsRows, into its history; and its series' identity when new or changed.
   */
  writeHistory(ns: NsRows, at: number, j: number, key: { hostId: number; bootId: number; seq: number; ts: number; recvTs: number }, bytes: Uint8Array, layoutId: (wireId: number) => number): void {
    const n = ns.count[j] ?? 0;
    const s = this.#s;
    const insert = s['insertSnap']!;
    let known = this.#series.get(key.hostId);
    if (known === undefined) this.#series.set(key.hostId, (known = new Map<number, { container: string | null; lastSeen: number }>()));
    for (let i = at; i < at + n; i++) {
      const netns = ns.netns[i]!;
      insert.run(key.hostId, netns, key.bootId, key.seq, key.ts, ns.pid[i]!, layoutId(ns.layout[i]!), bytes.subarray(ns.valsAt[i], ns.valsAt[i]! + ns.valsLen[i]!), ns.errors[i] ?? null);
      const container = ns.container[i] ?? null;
      const c = known.get(netns);
      if (c !== undefined && c.container === container && key.recvTs - c.lastSeen < LAST_SEEN_STEP_MS) continue;
      const ident = container === null ? null : (JSON.parse(container) as ContainerIdentity);
      s['upsertSeries']!.run(key.hostId, netns, ident?.runtime ?? null, ident?.id ?? null, container, key.recvTs, key.recvTs);
      known.set(netns, { container, lastSeen: key.recvTs });
    }
  }

  /** Inside a removal: the host's latest namespaces, and with `purge` all of its series. Rows deleted. */
  remove(hostId: number, purge: boolean): { latest: number; snapshots: number; rollups: number } {
    const s = this.#s;
    // ns_latest is a view of `latest`: the host's latest entries go with its latest row.
    const out = { latest: (s['countLatest']!.get(hostId) as { n: number }).n, snapshots: 0, rollups: 0 };
    if (purge) {
      out.snapshots = s['delSnapshots']!.run(hostId).changes;
      out.rollups = s['delRollup1m']!.run(hostId).changes + s['delRollup1h']!.run(hostId).changes;
      s['delSeries']!.run(hostId);
    }
    this.#series.clear();
    return out;
  }

  /** Each host's latest namespace entries, by host name. */
  latest(snmpNames: (layoutId: number) => readonly string[]): Map<string, NamespaceEntry[]> {
    const out = new Map<string, NamespaceEntry[]>();
    for (const r of this.#s['latestAll']!.iterate() as IterableIterator<NsRow & { host: string }>) {
      let list = out.get(r.host);
      if (list === undefined) out.set(r.host, (list = []));
      list.push(entryOf(r, snmpNames));
    }
    return out;
  }

  /** The series of a host, by netns. */
  series(host: string): NsSeries[] {
    const rows = this.#s['series']!.all(host) as { netns: number; container: string | null; first_seen: number; last_seen: number }[];
    return rows.map((r) => ({ netns: r.netns, container: r.container === null ? null : (JSON.parse(r.container) as ContainerIdentity), first_seen: r.first_seen, last_seen: r.last_seen }));
  }

  rawSeek(host: string, netns: number, after: RawKey, until: number, n: number): { count: number; last: RawKey | null } {
    return rawSeekWith(this.#s, 'ns', [host, netns], after, until, n);
  }

  rawAny(host: string, netns: number, after: RawKey, until: number): boolean {
    return this.#s['nsKeyAt']!.get(host, netns, ...after, until, 0) !== undefined;
  }

  rawSlice(host: string, netns: number, after: RawKey, end: RawKey, n: number, snmpNames: (layoutId: number) => readonly string[]): { rows: NsStoredEntry[]; last: RawKey | null } {
    const rows: NsStoredEntry[] = [];
    let last: RawKey | null = null;
    for (const r of this.#s['nsSlice']!.iterate(host, netns, ...after, ...end, n) as IterableIterator<NsRow & { seq: number; ts: number; recv_ts: number; boot_id: number; boot: string }>) {
      rows.push({ host, ts: r.ts, seq: r.seq, boot: r.boot, recv_ts: r.recv_ts, ...entryOf(r, snmpNames) });
      last = [r.ts, r.boot_id, r.seq];
    }
    return { rows, last };
  }
}
