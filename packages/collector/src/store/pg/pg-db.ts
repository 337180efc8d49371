/**
 * The PostgreSQL connection pool as the driver uses it: every statement runs under a statement
 * timeout; errors become StorageError (retryable when the server is gone, restarting, timed out,
 * or in a serialization or deadlock conflict) with every secret redacted; the loss and the return
 * of the database are logged once each. pg's pool replaces a broken connection with a new one on
 * the next query, so after a database restart the collector reconnects by itself.
 */
import pg from 'pg';
import type { PoolClient, QueryConfig, QueryResultRow } from 'pg';
import type { Logger } from 'pino';
import { StorageError } from '../storage-error.js';
import { pgSettings, redact } from './pg-url.js';

// bigint (int8) and numeric counts as JS numbers: every value tcpfleet stores fits in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** SQLSTATE classes and codes worth trying again. */
const RETRYABLE_STATE = /^(08|53|57P0[123]|57014|40001|40P01|55P03|55006|58)/;
const RETRYABLE_NODE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED)$/;

export interface PgDbOptions {
  log?: Logger | undefined;
  /** Connections in the pool (default 8). */
  max?: number;
  /** Per statement (default 30 s). */
  statementTimeoutMs?: number;
  /** To connect (default 5 s). */
  connectTimeoutMs?: number;
}

export class PgDb {
  readonly pool: pg.Pool;
  readonly where: string;
  readonly #secrets: string[];
  readonly #log: Logger | undefined;
  #down = false;

  constructor(url: string, o: PgDbOptions = {}) {
    const { config, secrets, where } = pgSettings(url);
    this.where = where;
    this.#secrets = secrets;
    this.#log = o.log?.child({ component: 'postgres' });
    this.pool = new pg.Pool({
      ...config,
      max: o.max ?? 8,
      statement_timeout: o.statementTimeoutMs ?? 30_000,
      lock_timeout: o.statementTimeoutMs ?? 30_000,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      application_name: 'tcpfleet',
    });
    // A connection that breaks while idle (a database restart) is dropped from the pool; without
    // this handler the error would end the process.
    this.pool.on('error', (err) => this.#lost(err));
  }

  /** Logging of lost and regained connections starts once the store is open (a failed start is one line). */
  #watching = false;
  watch(): void {
    this.#watching = true;
  }

  #lost(err: unknown): void {
    if (this.#down || !this.#watching) return;
    this.#down = true;
    this.#log?.error({ db: this.where, reason: this.redact((err as Error).message) }, 'database unreachable; batches are refused as retryable until it is back');
  }

  #ok(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log?.info({ db: this.where }, 'database reachable again');
  }

  /** True while the last attempt found the database unreachable. */
  get down(): boolean {
    return this.#down;
  }

  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  /** The error a driver call throws: StorageError, its message redacted. */
  wrap(err: unknown, what: string): StorageError {
    if (err instanceof StorageError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'UNKNOWN';
    const msg = typeof e.message === 'string' ? e.message : String(err);
    const gone =
      RETRYABLE_NODE.test(code) || /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(msg);
    const retryable = gone || RETRYABLE_STATE.test(code);
    if (gone || /^(08|57P0)/.test(code)) this.#lost(err);
    return new StorageError(this.redact(`${what}: ${msg}`), code, retryable);
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = [], what = 'database query'): Promise<R[]> {
    return this.once<R>({ text: sql, values: params }, what);
  }

  /**
   * One statement on a pooled connection, as its own transaction (no BEGIN or COMMIT: one round
   * trip); a named statement is prepared once per connection.
   */
  async once<R extends QueryResultRow = QueryResultRow>(q: QueryConfig, what: string): Promise<R[]> {
    try {
      const r = await this.pool.query<R>(q);
      this.#ok();
      return r.rows;
    } catch (err) {
      throw this.wrap(err, what);
    }
  }

  /** Runs `fn` in one transaction on one connection; rolled back when it throws. */
  async tx<T>(what: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw this.wrap(err, what);
    }
    let broken = false;
    // A checked-out connection has no error listener of the pool's: the server ending it between
    // two statements of this transaction (a fast shutdown, an admin's pg_terminate_backend) would
    // be an 'error' event nobody handles, which ends the process. Heard here, the connection is
    // thrown away at release and the transaction's next statement fails as retryable.
    const onError = (err: Error): void => {
      broken = true;
      this.#lost(err);
    };
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      this.#ok();
      return out;
    } catch (err) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw this.wrap(err, what);
    } finally {
      c.removeListener('error', onError);
      c.release(broken);
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
