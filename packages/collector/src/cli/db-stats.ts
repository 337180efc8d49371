/**
 * `tcpfleet db stats [--db PATH|URL] [--json]`: row counts, bytes and the oldest and newest data at
 * each resolution (raw snapshots, one-minute and one-hour rollups, the fleet's one-minute sums),
 * read from the database directly (SQLite: read-only; a running collector is not disturbed).
 */
import { existsSync } from 'node:fs';
import { TcpfleetError } from '@tcpfleet/common';
import { isPostgresUrl, openStore } from '../store/open-store.js';
import type { DbStats, ResolutionStats } from '../store/store.js';
import { table } from './format.js';

export type { ResolutionStats };
/** The document `db stats --json` prints. */
export type DbStatsDoc = DbStats;

/** Collects the statistics of a database. */
export async function collectDbStats(path: string): Promise<DbStatsDoc> {
  if (!isPostgresUrl(path) && !existsSync(path)) throw new TcpfleetError('TCPFLEET_ERR_NOT_FOUND', `no database at ${path} (give --db PATH)`);
  const store = await openStore(path, { readonly: true });
  try {
    return await store.stats();
  } finally {
    await store.close();
  }
}

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString());

/** Runs the command. */
export async function dbStatsCmd(path: string, json: boolean): Promise<void> {
  const s = await collectDbStats(path);
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
