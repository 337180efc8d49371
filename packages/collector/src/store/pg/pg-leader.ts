/**
 * Leadership among collectors sharing one PostgreSQL database: the collector holding a
 * session-level advisory lock (pg_try_advisory_lock) on its own dedicated connection is the
 * leader and runs the singleton jobs (alerting and notification, rollups and pruning,
 * --forget-after). The others try again every TRY_MS. The lock belongs to the connection: when
 * the leader's process dies or its connection breaks, PostgreSQL frees it and the next try of
 * another collector takes it. The holder checks its connection every TRY_MS as well and steps
 * down at once when the check fails (so two leaders overlap at most one check interval when only
 * the holder's link breaks while its process lives).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { PgDb } from './pg-db.js';

/** How often a follower tries the lock and the leader checks its connection. */
export const TRY_MS = 1000;
/** The lock's key: one per database. */
const LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('tcpfleet-leader')) AS ok";

export class PgLeader {
  readonly #db: PgDb;
  readonly #log: Logger;
  readonly #listeners: ((leader: boolean) => void)[] = [];
  #client: pg.Client | null = null;
  #leader = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #busy = false;

  constructor(db: PgDb, log: Logger) {
    this.#db = db;
    this.#log = log.child({ component: 'leader' });
  }

  get leader(): boolean {
    return this.#leader;
  }

  /** Called on each change, in order (true: this collector leads now). */
  onChange(fn: (leader: boolean) => void): void {
    this.#listeners.push(fn);
  }

  /** Tries once now (resolves when that try is done), then every TRY_MS. */
  async start(): Promise<void> {
    await this.#tick();
    const loop = (): void => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => void this.#tick().finally(loop), TRY_MS);
      this.#timer.unref();
    };
    loop();
  }

  #set(leader: boolean, why: string): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    if (leader) this.#log.info('leadership taken: this collector runs alerting, rollups, pruning and forget-after');
    else this.#log.warn({ reason: why }, 'leadership lost: singleton jobs stopped here');
    for (const fn of this.#listeners) fn(leader);
  }

  #drop(reason: string): void {
    const c = this.#client;
    this.#client = null;
    if (c !== null) c.end().catch(() => undefined);
    this.#set(false, reason);
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      if (this.#client === null) {
        const c = new pg.Client({ ...(this.#db.pool.options as pg.ClientConfig), application_name: 'tcpfleet-leader', keepAlive: true, statement_timeout: 5000 });
        c.on('error', (err) => this.#drop(this.#db.redact(err.message)));
        c.on('end', () => {
          if (this.#client === c) this.#drop('lock connection closed');
        });
        await c.connect();
        this.#client = c;
      }
      const c = this.#client;
      if (this.#leader) {
        await c.query('SELECT 1');
      } else {
        const r = await c.query<{ ok: boolean }>(LOCK_SQL);
        if (r.rows[0]?.ok === true) this.#set(true, '');
      }
    } catch (err) {
      this.#drop(this.#db.redact((err as Error).message));
    } finally {
      this.#busy = false;
    }
  }

  /** Stops trying; a leader releases the lock by closing its connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = null;
    if (this.#leader) {
      this.#leader = false;
      this.#log.info('leadership released at stop');
    }
    await c?.end().catch(() => undefined);
  }
}
