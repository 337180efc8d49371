/**
 * Read tokens in PostgreSQL. The HTTP guard asks synchronously on every guarded request, so it
 * reads a copy of the live tokens refreshed every second (a token created or revoked with the CLI,
 * on any collector's database, counts within a second). Until the first refresh ends, and while
 * the database is unreachable, the last copy answers.
 */
import type { ReadTokenInfo, ReadTokenLookup, ReadTokens } from '../store.js';
import type { PgDb } from './pg-db.js';

export const READ_TOKEN_REFRESH_MS = 1000;

export class PgReadTokens implements ReadTokens {
  readonly #db: PgDb;
  #live = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async put(name: string, hash: string, now: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO read_tokens (name, hash, created, revoked) VALUES ($1, $2, $3, NULL)
       ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, created = excluded.created, revoked = NULL`,
      [name, hash, now],
      'cannot store read token',
    );
  }

  async revoke(name: string, now: number): Promise<boolean> {
    return (await this.#db.query('UPDATE read_tokens SET revoked = $1 WHERE name = $2 AND revoked IS NULL RETURNING name', [now, name], 'cannot revoke read token')).length > 0;
  }

  list(): Promise<ReadTokenInfo[]> {
    return this.#db.query<ReadTokenInfo>('SELECT name, created, revoked FROM read_tokens ORDER BY name');
  }

  async anyLive(): Promise<boolean> {
    return (await this.#db.query('SELECT 1 FROM read_tokens WHERE revoked IS NULL LIMIT 1')).length > 0;
  }

  /** Reads the live tokens now. */
  async refresh(): Promise<void> {
    const rows = await this.#db.query<{ name: string; hash: string }>('SELECT name, hash FROM read_tokens WHERE revoked IS NULL');
    this.#live = new Map(rows.map((r) => [r.hash, r.name]));
  }

  lookup(): ReadTokenLookup {
    if (this.#timer === null) {
      const tick = (): void => void this.refresh().catch(() => undefined);
      tick();
      this.#timer = setInterval(tick, READ_TOKEN_REFRESH_MS);
      this.#timer.unref();
    }
    return { nameFor: (hash) => this.#live.get(hash) ?? null, anyLive: () => this.#live.size > 0 };
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
