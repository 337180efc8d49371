/**
 * Per-person read tokens (`tcpfleet token create --read NAME`): like per-host write tokens, only
 * the SHA-256 of each is stored (table read_tokens, store/migrations.ts), listed and revoked by name. The
 * collector asks this table on every guarded HTTP request, so a token created or revoked with the
 * CLI counts at once.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { existsSync } from 'node:fs';

import type { ReadTokenInfo, ReadTokenLookup, ReadTokens } from './store.js';

export type { ReadTokenInfo };

/** The SQLite read tokens: every lookup asks the table (an index seek), so CLI changes count at once. */
export class ReadTokenStore implements ReadTokenLookup {
  readonly #s: Record<'put' | 'revoke' | 'nameFor' | 'anyLive' | 'list', Statement>;

  /** `db` is a migrated connection (SqliteStore.db). */
  constructor(db: Db) {
    this.#s = {
      put: db.prepare(`INSERT INTO read_tokens (name, hash, created, revoked) VALUES (?, ?, ?, NULL)
                       ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, created = excluded.created, revoked = NULL`),
      revoke: db.prepare('UPDATE read_tokens SET revoked = ? WHERE name = ? AND revoked IS NULL'),
      nameFor: db.prepare('SELECT name FROM read_tokens WHERE hash = ? AND revoked IS NULL'),
      anyLive: db.prepare('SELECT 1 AS one FROM read_tokens WHERE revoked IS NULL LIMIT 1'),
      list: db.prepare('SELECT name, created, revoked FROM read_tokens ORDER BY name'),
    };
  }

  /** Stores a new token's hash for `name`, replacing (and so ending) any previous one. */
  put(name: string, hash: string, now: number): void {
    this.#s.put.run(name, hash, now);
  }

  /** Revokes `name`'s token; false when it had no live one. */
  revoke(name: string, now: number): boolean {
    return this.#s.revoke.run(now, name).changes > 0;
  }

  /** Whose live token has this hash, or null. */
  nameFor(hash: string): string | null {
    return (this.#s.nameFor.get(hash) as { name: string } | undefined)?.name ?? null;
  }

  /** True when at least one read token is live. */
  anyLive(): boolean {
    return this.#s.anyLive.get() !== undefined;
  }

  list(): ReadTokenInfo[] {
    return this.#s.list.all() as ReadTokenInfo[];
  }
}

/** ReadTokens over a SQLite connection (a database older than read tokens has none and takes none). */
export function sqliteReadTokens(db: Db): ReadTokens {
  let t: ReadTokenStore | null = null;
  const get = (): ReadTokenStore | null => (t ??= hasReadTokenTable(db) ? new ReadTokenStore(db) : null);
  const none: ReadTokenLookup = { nameFor: () => null, anyLive: () => false };
  const must = (): ReadTokenStore => {
    const s = get();
    if (s === null) throw new Error('this database has no read_tokens table (open it with a newer tcpfleet serve first)');
    return s;
  };
  return {
    put: (name, hash, now) => Promise.resolve(must().put(name, hash, now)),
    revoke: (name, now) => Promise.resolve(must().revoke(name, now)),
    list: () => Promise.resolve(get()?.list() ?? []),
    anyLive: () => Promise.resolve(get()?.anyLive() ?? false),
    lookup: () => get() ?? none,
  };
}

/** True when the database has the read_tokens table (a database of an older collector has not). */
export function hasReadTokenTable(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'read_tokens'").get() !== undefined;
}

/**
 * True when the database at `path` holds a live read token; looked at read-only, so a collector
 * that refuses to start creates nothing (no file, or a schema older than read tokens: false).
 */
export function hasLiveReadTokens(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return hasReadTokenTable(db) && db.prepare('SELECT 1 FROM read_tokens WHERE revoked IS NULL LIMIT 1').get() !== undefined;
  } finally {
    db.close();
  }
}
