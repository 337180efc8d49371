/**
 * `tcpfleet db stats` on SQLite: row counts, bytes and the oldest and newest data at each
 * resolution (raw snapshots, one-minute and one-hour rollups, the fleet's one-minute sums, and the
 * same three of the network namespaces' series).
 */
import { existsSync, statSync } from 'node:fs';
import type { Database as Db } from 'better-sqlite3';
import { TcpfleetError } from '@tcpfleet/common';
import { RESOLUTION_TABLES, rolledUntil } from './store.js';
import type { DbStats, ResolutionStats } from './store.js';

/** The statistics of a SQLite database (its file size and WAL, and per table bytes when dbstat is compiled in). */
export function sqliteStats(db: Db, path: string): DbStats {
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
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
  for (const [resolution, t, col] of RESOLUTION_TABLES) {
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
      rolled_until: rolledUntil(resolution, state),
    });
  }
  const hosts = (db.prepare('SELECT count(*) AS n FROM hosts').get() as { n: number }).n;
  return { path, bytes: size(path), wal_bytes: size(`${path}-wal`), hosts, resolutions };
}
