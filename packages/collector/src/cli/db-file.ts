/**
 * The database file of the commands that open it directly (`token`, `db stats`): where its path
 * came from (--db, TCPFLEET_DB or the default), and the refusal of a missing file by the commands
 * that only read or change what is there, so none of them creates an empty database by mistake.
 */
import { existsSync } from 'node:fs';
import { TcpfleetError } from '@tcpfleet/common/light';

/** The database file when neither --db nor TCPFLEET_DB names one (serve's default too). */
export const DEFAULT_DB = './data/tcpfleet.db';

/** A database path and the setting that gave it. */
export interface DbFile {
  readonly path: string;
  /** "flag --db", "environment variable TCPFLEET_DB" or "the default --db". */
  readonly source: string;
}

/** The database path: --db when given, else TCPFLEET_DB, else the default. */
export function dbFile(flagValue: string, flagGiven: boolean, env: NodeJS.ProcessEnv): DbFile {
  if (flagGiven) return { path: flagValue, source: 'flag --db' };
  const fromEnv = env['TCPFLEET_DB'];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: 'environment variable TCPFLEET_DB' };
  return { path: flagValue, source: 'the default --db' };
}

/** Refuses a missing database file with one line: which path, from where, and how to create it. */
export function requireDatabase(db: DbFile, command: string): void {
  // A PostgreSQL URL (store/open-store.ts): the server says whether the database is there.
  if (/^postgres(ql)?:\/\//i.test(db.path) || existsSync(db.path)) return;
  throw new TcpfleetError(
    'TCPFLEET_ERR_NOT_FOUND',
    `${command}: no database at ${db.path} (${db.source}); nothing was created. \`tcpfleet serve --db ${db.path}\` creates it, or give --db PATH (or TCPFLEET_DB) of an existing one`,
  );
}
