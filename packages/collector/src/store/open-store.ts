/**
 * Opens the store the database setting names (`--db`, TCPFLEET_DB): a `postgres://` or
 * `postgresql://` URL opens the PostgreSQL driver (store/pg/pg-store.ts, loaded only then); anything
 * else is a SQLite file path, the embedded default.
 */
import type { Logger } from 'pino';
import { SqliteStore } from './sqlite-store.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import { ThreadedStore } from './write-thread.js';
import type { Store } from './store.js';

/** Page cache of the main thread's connection when a write thread owns the writes, KiB (SQLite's default is 2,000). */
export const MAIN_CACHE_KIB = 4096;

/** True when the database setting is a PostgreSQL URL. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export interface OpenStoreOptions {
  /** Commands that only read (SQLite: opened read-only, the file must exist). */
  readonly?: boolean;
  log?: Logger | undefined;
  /** SQLite only. */
  sqlite?: Omit<SqliteStoreOptions, 'path' | 'readonly'>;
  /** SQLite only: writes (and the rollup job) on a worker thread. */
  writeThread?: { rawRetentionMs: number; logLevel: string } | undefined;
}

/** Opens (and migrates, unless read-only) the store of `db`. */
export async function openStore(db: string, o: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(db)) {
    const { PgStore } = await import('./pg/pg-store.js');
    return PgStore.open(db, { log: o.log, readonly: o.readonly === true });
  }
  const opts: SqliteStoreOptions = { ...o.sqlite, path: db, readonly: o.readonly === true };
  if (o.writeThread === undefined || o.readonly === true || o.log === undefined) return new SqliteStore(opts);
  // The write thread's connection does the writes (and keeps the big page cache); this one reads.
  const main = new SqliteStore({ ...opts, cacheKib: MAIN_CACHE_KIB });
  return new ThreadedStore(main, { store: opts, rollups: { rawRetentionMs: o.writeThread.rawRetentionMs, everyMs: 10_000 }, logLevel: o.writeThread.logLevel }, o.log);
}
