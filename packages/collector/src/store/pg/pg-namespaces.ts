/**
 * Per-namespace series on PostgreSQL (issue 10; schema in pg-schema.ts migration 2), with the
 * semantics of the SQLite driver (store/ns-store.ts, ns-rollups.ts, ns-history.ts): what an ingest
 * transaction writes for its stored snapshots' `namespaces` (one statement over arrays for the
 * history, one for the series), the latest set (the view ns_latest), series, raw history, host
 * removal, and the rollups and retention the PG rollup job runs host slice by host slice.
 *
 * ns_series is written in every commit that carries a series, but the row is only rewritten when
 * its container changed or its last_seen is LAST_SEEN_STEP_MS old (the DO UPDATE's WHERE): no
 * process cache, so any number of collectors agree.
 */
import type { PoolClient } from 'pg';
import type { ContainerIdentity, NamespaceEntry } from '@tcpfleet/common';
import { nsOffsets } from '../ingest-rows.js';
import type { IngestRows } from '../ingest-rows.js';
import type { NsSeries, NsStoredEntry } from '../store.js';
import { entryOf, LAST_SEEN_STEP_MS } from '../ns-store.js';
import type { NsRow } from '../ns-store.js';
import { nsRollupSample } from '../ns-values.js';
import { HOUR, MINUTE, floorTo } from '../rollups.js';
import { addAgg, addSample, aggOf, decodeAgg, encodeAgg } from '../rollup-codec.js';
import type { Agg } from '../rollup-codec.js';
import type { PgDb } from './pg-db.js';
import { BinArrays } from './pg-arrays.js';

/** The counter names of a layout id (the store reads and caches them). */
export type SnmpNames = (layoutId: number) => Promise<readonly string[]>;

/**
 * Inside the ingest transaction: the entries of the snapshots just stored (`stored`: the rows of
 * the commit that were inserted, by their index in the commit, each once), with their series.
 */
export async function nsWrite(
  c: PoolClient,
  rows: IngestRows,
  stored: readonly { j: number; host: string; bootId: number }[],
  recvTs: number,
  bytes: Buffer,
  layoutId: (wireId: number) => number,
): Promise<void> {
  const ns = rows.ns;
  if (ns.netns.length === 0 || stored.length === 0) return;
  const at = nsOffsets(ns.count);
  const col = {
    host: [] as string[],
    netns: [] as number[],
    boot: [] as number[],
    seq: [] as number[],
    ts: [] as number[],
    pid: [] as number[],
    layout: [] as number[],
    o: [] as number[],
    n: [] as number[],
    e: [] as (string | null)[],
  };
  const series = new Map<string, { host: string; netns: number; container: string | null }>();
  for (const { j, host, bootId } of stored) {
    for (let i = at[j]!; i < at[j]! + (ns.count[j] ?? 0); i++) {
      col.host.push(host);
      col.netns.push(ns.netns[i]!);
      col.boot.push(bootId);
      col.seq.push(rows.seq[j]!);
      col.ts.push(rows.ts[j]!);
      col.pid.push(ns.pid[i]!);
      col.layout.push(layoutId(ns.layout[i]!));
      col.o.push(ns.valsAt[i]!);
      col.n.push(ns.valsLen[i]!);
      col.e.push(ns.errors[i] ?? null);
      series.set(`${host}\n${ns.netns[i]!}`, { host, netns: ns.netns[i]!, container: ns.container[i] ?? null });
    }
  }
  if (col.host.length === 0) return;
  await c.query(
    `INSERT INTO ns_snapshots (host, netns, boot_id, seq, ts, pid, layout_id, vals, errors)
     SELECT h, x, b, s, t, p, l, substring($11::bytea from o + 1 for n), e
     FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::int[], $8::int[], $9::int[], $10::text[]) AS u(h, x, b, s, t, p, l, o, n, e)
     ON CONFLICT DO NOTHING`,
    [col.host, col.netns, col.boot, col.seq, col.ts, col.pid, col.layout, col.o, col.n, col.e, bytes],
  );
  // Series in key order, so concurrent commits lock their rows in one order.
  const list = [...series.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.netns - b.netns));
  const ident = list.map((s) => (s.container === null ? null : (JSON.parse(s.container) as ContainerIdentity)));
  await c.query(
    `INSERT INTO ns_series (host, netns, runtime, container_id, container, first_seen, last_seen)
     SELECT h, x, r, i, c, $6, $6 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS u(h, x, r, i, c)
     ON CONFLICT (host, netns) DO UPDATE SET runtime = excluded.runtime, container_id = excluded.container_id, container = excluded.container,
     last_seen = greatest(ns_series.last_seen, excluded.last_seen)
     WHERE ns_series.container IS DISTINCT FROM excluded.container OR ns_series.last_seen <= excluded.last_seen - ${LAST_SEEN_STEP_MS}`,
    [list.map((s) => s.host), list.map((s) => s.netns), ident.map((i) => i?.runtime ?? null), ident.map((i) => i?.id ?? null), list.map((s) => s.container), recvTs],
  );
}

/** Entries from rows (layouts read first). */
async function entries(rows: readonly NsRow[], names: SnmpNames): Promise<NamespaceEntry[]> {
  const known = new Map<number, readonly string[]>();
  for (const r of rows) if (!known.has(r.layout_id)) known.set(r.layout_id, await names(r.layout_id));
  return rows.map((r) => entryOf(r, (id) => known.get(id) ?? []));
}

/** The key of a latest row: its namespace entries are those of the same snapshot (the view ns_latest). */
export interface LatestKey {
  host: string;
  boot_id: number;
  seq: number;
  ts: number;
}

/**
 * Each host's latest namespace entries, by host; with `of`, the entries of those latest rows only
 * (the fleet sync: found by key in ns_snapshots, not through the view, which joins every host's
 * latest row whatever is asked).
 */
export async function nsLatest(db: PgDb, names: SnmpNames, of?: readonly LatestKey[]): Promise<Map<string, NamespaceEntry[]>> {
  if (of?.length === 0) return new Map();
  const source =
    of === undefined
      ? 'ns_latest n'
      : `unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS k(host, boot_id, seq, ts)
         JOIN ns_snapshots n ON n.host = k.host AND n.ts = k.ts AND n.boot_id = k.boot_id AND n.seq = k.seq`;
  const rows = await db.query<NsRow & { host: string }>(
    `SELECT n.host, n.netns, n.pid, n.layout_id, n.vals, n.errors, s.container FROM ${source}
     LEFT JOIN ns_series s ON s.host = n.host AND s.netns = n.netns ORDER BY n.host, n.netns`,
    of === undefined ? [] : keyArrays(of),
  );
  const list = await entries(rows, names);
  const out = new Map<string, NamespaceEntry[]>();
  rows.forEach((r, i) => {
    let l = out.get(r.host);
    if (l === undefined) out.set(r.host, (l = []));
    l.push(list[i]!);
  });
  return out;
}

/** The keys of latest rows as the four array parameters of nsLatest (binary arrays: no text per key). */
function keyArrays(of: readonly LatestKey[]): Buffer[] {
  const a = new BinArrays(48 * of.length + 256);
  return [a.text(of.length, (k) => of[k]!.host), a.int8(of.length, (k) => of[k]!.boot_id), a.int8(of.length, (k) => of[k]!.seq), a.int8(of.length, (k) => of[k]!.ts)];
}

/** The series of a host, by netns. */
export async function nsSeries(db: PgDb, host: string): Promise<NsSeries[]> {
  const rows = await db.query<{ netns: number; container: string | null; first_seen: number; last_seen: number }>(
    'SELECT netns, container, first_seen, last_seen FROM ns_series WHERE host = $1 ORDER BY netns',
    [host],
  );
  return rows.map((r) => ({ netns: r.netns, container: r.container === null ? null : (JSON.parse(r.container) as ContainerIdentity), first_seen: r.first_seen, last_seen: r.last_seen }));
}

/** Raw entries of one series after key `after` ([ts] alone: every row with a greater ts) and before `until`, at most `n`, with their keys. */
export async function nsRawRows(db: PgDb, host: string, netns: number, after: readonly number[], until: number, n: number, names: SnmpNames): Promise<{ key: number[]; row: NsStoredEntry }[]> {
  const open = !Number.isFinite(after[1] ?? Infinity);
  const rows = await db.query<NsRow & { seq: number; ts: number; recv_ts: number; boot_id: number; boot: string }>(
    `SELECT s.netns, s.seq, s.ts, h.recv_ts, s.boot_id, s.pid, s.layout_id, s.vals, s.errors, b.boot, r.container
     FROM ns_snapshots s JOIN boots b ON b.host = s.host AND b.id = s.boot_id LEFT JOIN ns_series r ON r.host = s.host AND r.netns = s.netns
     LEFT JOIN snapshots h ON h.host = s.host AND h.boot_id = s.boot_id AND h.seq = s.seq AND h.ts = s.ts
     WHERE s.host = $1 AND s.netns = $2 AND s.ts < $3 AND ${open ? 's.ts > $4' : '(s.ts, s.boot_id, s.seq) > ($4, $6, $7)'}
     ORDER BY s.ts, s.boot_id, s.seq LIMIT $5`,
    open ? [host, netns, until, after[0] ?? -1, n] : [host, netns, until, after[0], n, after[1], after[2]],
  );
  const list = await entries(rows, names);
  return rows.map((r, i) => ({ key: [r.ts, r.boot_id, r.seq], row: { host, ts: r.ts, seq: r.seq, boot: r.boot, recv_ts: r.recv_ts, ...list[i]! } }));
}

/** Inside a removal: the host's latest entries (they go with its latest row), and with `purge` every row of its series. Rows deleted. */
export async function nsRemove(c: PoolClient, host: string, purge: boolean): Promise<number> {
  let n = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM ns_latest WHERE host = $1', [host])).rows[0]?.n ?? 0);
  if (purge) {
    n += (await c.query('DELETE FROM ns_snapshots WHERE host = $1', [host])).rowCount ?? 0;
    n += (await c.query('DELETE FROM ns_rollup_1m WHERE host = $1', [host])).rowCount ?? 0;
    n += (await c.query('DELETE FROM ns_rollup_1h WHERE host = $1', [host])).rowCount ?? 0;
    await c.query('DELETE FROM ns_series WHERE host = $1', [host]);
  }
  return n;
}

/** Rolls the namespaces of these hosts in [from, to) into ns_rollup_1m (after deleting those minutes' rows when `replace`). */
export async function nsRollMinutes(db: PgDb, hosts: readonly string[], from: number, to: number, names: SnmpNames, replace = false): Promise<void> {
  if (replace) await db.query('DELETE FROM ns_rollup_1m WHERE host = ANY($1::text[]) AND bucket >= $2 AND bucket < $3', [hosts, from, to]);
  const rows = await db.query<{ host: string; netns: number; ts: number; vals: Buffer; layout_id: number; interval_ms: number }>(
    `SELECT n.host, n.netns, n.ts, n.vals, n.layout_id, h.interval_ms FROM ns_snapshots n JOIN hosts h ON h.host = n.host
     WHERE n.host = ANY($1::text[]) AND n.ts >= $2 AND n.ts < $3 ORDER BY n.host, n.ts`,
    [hosts, from, to],
  );
  const out = new Map<string, { host: string; netns: number; bucket: number; agg: Agg }>();
  for (const r of rows) {
    const sample = { ts: r.ts, interval_ms: r.interval_ms, ...nsRollupSample(r.vals, await names(r.layout_id)) };
    const bucket = floorTo(r.ts, MINUTE);
    const key = `${r.host}\n${r.netns}\n${bucket}`;
    const a = out.get(key);
    if (a === undefined) out.set(key, { host: r.host, netns: r.netns, bucket, agg: aggOf(sample) });
    else addSample(a.agg, sample);
  }
  await put(db, 'ns_rollup_1m', [...out.values()]);
}

/** Rolls the one-minute rows of these hosts' namespaces in [from, to) into hours. */
export async function nsRollHours(db: PgDb, hosts: readonly string[], from: number, to: number): Promise<void> {
  const rows = await db.query<{ host: string; netns: number; bucket: number; last_ts: number; vals: Buffer }>(
    'SELECT host, netns, bucket, last_ts, vals FROM ns_rollup_1m WHERE host = ANY($1::text[]) AND bucket >= $2 AND bucket < $3 ORDER BY host, bucket',
    [hosts, from, to],
  );
  const out = new Map<string, { host: string; netns: number; bucket: number; agg: Agg }>();
  for (const r of rows) {
    const a = decodeAgg(r.vals, r.last_ts);
    const hour = floorTo(r.bucket, HOUR);
    const key = `${r.host}\n${r.netns}\n${hour}`;
    const cur = out.get(key);
    if (cur === undefined) out.set(key, { host: r.host, netns: r.netns, bucket: hour, agg: a });
    else addAgg(cur.agg, a);
  }
  await put(db, 'ns_rollup_1h', [...out.values()]);
}

async function put(db: PgDb, table: 'ns_rollup_1m' | 'ns_rollup_1h', rows: { host: string; netns: number; bucket: number; agg: Agg }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO ${table} (host, netns, bucket, last_ts, vals) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[])
     ON CONFLICT (host, bucket, netns) DO UPDATE SET last_ts = excluded.last_ts, vals = excluded.vals`,
    [rows.map((r) => r.host), rows.map((r) => r.netns), rows.map((r) => r.bucket), rows.map((r) => r.agg.lastTs), rows.map((r) => encodeAgg(r.agg))],
    `cannot store ${table}`,
  );
}

/**
 * Retention of the namespace rollups (raw entries go with their daily partition): one-minute rows
 * before `cut1m`, hour rows before `cut1h`, and series last stored before `cut1h` (less what
 * last_seen may lag) that are not in a latest set: nothing of them is left. Rows deleted.
 */
export async function nsPrune(db: PgDb, cut1m: number | null, cut1h: number): Promise<number> {
  let n = 0;
  if (cut1m !== null) n += (await db.query('DELETE FROM ns_rollup_1m WHERE bucket < $1 RETURNING 1', [cut1m])).length;
  n += (await db.query('DELETE FROM ns_rollup_1h WHERE bucket < $1 RETURNING 1', [cut1h])).length;
  await db.query(
    `DELETE FROM ns_series s WHERE s.last_seen < $1::bigint - ${LAST_SEEN_STEP_MS}
     AND NOT EXISTS (SELECT 1 FROM ns_latest l WHERE l.host = s.host AND l.netns = s.netns)`,
    [cut1h],
  );
  return n;
}
