/**
 * `tcpfleet db stats [--db PATH] [--json]`: row counts, bytes and the oldest and newest data at
 * each resolution (raw snapshots, one-minute and one-hour rollups, the fleet's one-minute sums,
 * and the same three of the network namespaces' series),
 * read from the database file directly (read-only; a running collector is not disturbed).
 */
import { existsSync, statSync } from 'node:fs';
import { TcpfleetError } from '@tcpfleet/common';
import { SqliteStore } from '../store/sqlite-store.js';
import { table } from './format.js';

/** One resolution in `db stats --json`. */
export interface ResolutionStats {
  /** ns_*: the network namespaces' series (issue 10; docs/storage.md#network-namespaces). */
  resolution: 'raw' | '1m' | '1h' | 'fleet_1m' | 'ns_raw' | 'ns_1m' | 'ns_1h';
  table: string;
  rows: number;
  bytes: number | null;
  oldest: number | null;
  newest: number | null;
  rolled_until: number | null;
}

/** The document `db stats --json` prints. */
export interface DbStatsDoc {
  path: string;
  bytes: number;
  wal_bytes: number;
  hosts: number;
  resolutions: ResolutionStats[];
}

const RES: readonly [ResolutionStats['resolution'], string, string][] = [
  ['raw', 'snapshots', 'ts'],
  ['1m', 'rollup_1m', 'bucket'],
  ['1h', 'rollup_1h', 'bucket'],
  ['fleet_1m', 'rollup_fleet_1m', 'bucket'],
  ['ns_raw', 'ns_snapshots', 'ts'],
  ['ns_1m', 'ns_rollup_1m', 'bucket'],
  ['ns_1h', 'ns_rollup_1h', 'bucket'],
];

/** Collects the statistics of a database file. */
export function collectDbStats(path: string): DbStatsDoc {
  if (!existsSync(path)) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no database at ${path} (give --db PATH)`);
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
  const store = new SqliteStore({ path, readonly: true });
  try {
    const db = store.db;
    const has = (t: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
    if (!has('snapshots')) throw new TcpfleetError('TCPFLEET_ERR_STORAGE', `${path} is not a tcpfleet database`);
    let pages = new Map<string, number>();
    try {
      const rows = db.prepare('SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name').all() as { name: string; b: number }[];
      pages = new Map(rows.map((r) => [r.name, r.b]));
    } catch {
      // dbstat not compiled in: bytes per table unknown
    }
    const state = has('rollup_state')
      ? new Map((db.prepare('SELECT resolution, done_until FROM rollup_state').all() as { resolution: string; done_until: number }[]).map((r) => [r.resolution, r.done_until]))
      : new Map<string, number>();
    const resolutions: ResolutionStats[] = [];
    for (const [resolution, t, col] of RES) {
      if (!has(t)) continue;
      const r = db.prepare(`SELECT count(*) AS n, min(${col}) AS lo, max(${col}) AS hi FROM ${t}`).get() as { n: number; lo: number | null; hi: number | null };
      const indexBytes = t === 'snapshots' ? (pages.get('snapshots_by_time') ?? 0) : t === 'rollup_1m' ? (pages.get('rollup_1m_by_bucket') ?? 0) : 0;
      resolutions.push({
        resolution,
        table: t,
        rows: r.n,
        bytes: pages.size === 0 ? null : (pages.get(t) ?? 0) + indexBytes,
        oldest: r.lo,
        newest: r.hi,
        rolled_until:
          resolution === 'raw' || resolution === 'ns_raw' ? null : (state.get(resolution === 'fleet_1m' || resolution === 'ns_1m' ? '1m' : resolution === 'ns_1h' ? '1h' : resolution) ?? null),
      });
    }
    const hosts = (db.prepare('SELECT count(*) AS n FROM hosts').get() as { n: number }).n;
    return { path, bytes: size(path), wal_bytes: size(`${path}-wal`), hosts, resolutions };
  } finally {
    void store.close();
  }
}

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString());

/** Runs the command. */
export function dbStatsCmd(path: string, json: boolean): void {
  const s = collectDbStats(path);
  if (json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  process.stdout.write(`${s.path}: ${s.bytes} bytes (+ ${s.wal_bytes} WAL), ${s.hosts} hosts\n\n`);
  process.stdout.write(
    table(
      ['RESOLUTION', 'TABLE', 'ROWS', 'BYTES', 'OLDEST', 'NEWEST', 'ROLLED_UNTIL'],
      s.resolutions.map((r) => [r.resolution, r.table, r.rows, r.bytes ?? '-', iso(r.oldest), iso(r.newest), iso(r.rolled_until)]),
    ),
  );
}
