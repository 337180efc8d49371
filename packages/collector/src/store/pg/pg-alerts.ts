/**
 * Alert state and the notification outbox in PostgreSQL. The engine's AlertStore is synchronous
 * (it runs between two commits and must not yield), so this store answers from memory, loaded at
 * start (open alerts, the latest resolved ones, queued deliveries), and writes behind: each engine
 * transaction (a transition with its deliveries) becomes one PostgreSQL transaction, sent in order
 * by one writer. A write that fails (the database away) is kept and sent again, in order, when it
 * is back; durable() and close() wait for all. Every statement is idempotent (a batch whose
 * commit was not confirmed is sent again).
 *
 * A queued delivery is due only once the transaction that queued it is committed: nothing is
 * notified that the next leader would not find in the outbox. What a crash (kill -9 of the leader)
 * can lose is therefore only transitions nobody was told of (the next leader evaluates them again
 * from the stored state); a notification delivered but not yet marked sent is sent again by the
 * next leader with the same body and idempotency key (at least once, notify.ts).
 *
 * Ids come from blocks of 2^20 taken from a database sequence, so collectors sharing the database
 * never hand out the same id.
 */
import type { Logger } from 'pino';
import { OPEN_ALERTS_SQL, fromRow } from '../../alerts/alert-store.js';
import type { AlertRecord, AlertRow, AlertStore, Delivery } from '../../alerts/alert-store.js';
import type { PgDb } from './pg-db.js';

const BLOCK = 2 ** 20;
/** Posts of one alert to one notifier kept when each new one supersedes the older (as on SQLite). */
const KEEP_SUPERSEDED = 10;
/** Resolved alerts kept in memory for `all()` (the newest). */
const KEEP_RESOLVED = 1000;

const params = (a: AlertRecord): unknown[] => [
  a.id,
  a.rule,
  a.key,
  a.status,
  a.severity,
  a.host,
  JSON.stringify(a.labels),
  a.metric,
  a.value,
  a.baseline,
  a.pendingSince,
  a.startsAt,
  a.endsAt,
  a.lastNotified,
  a.evidence === null ? null : JSON.stringify(a.evidence),
];

const UPSERT = `INSERT INTO alerts (id, rule, key, status, severity, host, labels, metric, value, baseline, pending_since, starts_at, ends_at, last_notified, evidence)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity, labels = excluded.labels, value = excluded.value, baseline = excluded.baseline,
  pending_since = excluded.pending_since, starts_at = excluded.starts_at, ends_at = excluded.ends_at, last_notified = excluded.last_notified, evidence = excluded.evidence`;

type Stmt = [string, unknown[]];

/** Alerts as committed (Store.readAlerts): open ones, or with `all` the newest `limit`. */
export async function readPgAlerts(db: PgDb, all: boolean, limit: number): Promise<AlertRecord[]> {
  const rows = all ? await db.query<AlertRow>('SELECT * FROM alerts ORDER BY id DESC LIMIT $1', [limit]) : await db.query<AlertRow>(OPEN_ALERTS_SQL);
  return rows.map(fromRow);
}

interface QueuedDelivery extends Delivery {
  next: number;
}

/** One engine transaction to commit: its statements, and the deliveries it queues (due once it is committed). */
interface Tx {
  stmts: Stmt[];
  queues: number[];
}

export class PgAlertStore implements AlertStore {
  readonly #db: PgDb;
  readonly #log: Logger | undefined;
  readonly #alerts = new Map<number, AlertRecord>();
  readonly #queue = new Map<number, QueuedDelivery>();
  #ids: { next: number; end: number };
  #spare: { next: number; end: number } | null = null;
  #fetching = false;
  /** Engine transactions not yet committed, in order. */
  readonly #pending: Tx[] = [];
  #open: Tx | null = null;
  /** Queued deliveries whose transaction is not committed yet: not due. */
  readonly #unsaved = new Set<number>();
  #flushing: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;

  private constructor(db: PgDb, log: Logger | undefined, block: number) {
    this.#db = db;
    this.#log = log?.child({ component: 'alert-store' });
    this.#ids = { next: block * BLOCK, end: (block + 1) * BLOCK };
  }

  static async load(db: PgDb, log?: Logger): Promise<PgAlertStore> {
    const block = (await db.query<{ b: number }>("SELECT nextval('alert_id_blocks') AS b"))[0]!.b;
    const s = new PgAlertStore(db, log, block);
    for (const r of await db.query<AlertRow>(`(SELECT * FROM alerts WHERE status <> 'resolved') UNION ALL (SELECT * FROM alerts WHERE status = 'resolved' ORDER BY id DESC LIMIT ${KEEP_RESOLVED})`))
      s.#alerts.set(r.id, fromRow(r));
    for (const d of await db.query<QueuedDelivery>('SELECT id, alert_id AS "alertId", notifier, body, attempts, next_attempt AS next FROM alert_deliveries WHERE state = \'queued\' ORDER BY id'))
      s.#queue.set(d.id, d);
    return s;
  }

  #id(): number {
    if (this.#ids.next >= this.#ids.end) {
      if (this.#spare === null) throw new Error('alert ids exhausted before the next block arrived');
      this.#ids = this.#spare;
      this.#spare = null;
    }
    if (this.#spare === null && !this.#fetching && this.#ids.next - (this.#ids.end - BLOCK) > BLOCK / 2) {
      this.#fetching = true;
      this.#db
        .query<{ b: number }>("SELECT nextval('alert_id_blocks') AS b")
        .then((r) => (this.#spare = { next: r[0]!.b * BLOCK, end: (r[0]!.b + 1) * BLOCK }))
        .catch(() => undefined)
        .finally(() => (this.#fetching = false));
    }
    return this.#ids.next++;
  }

  #write(sql: string, p: unknown[]): void {
    if (this.#open !== null) this.#open.stmts.push([sql, p]);
    else {
      this.#pending.push({ stmts: [[sql, p]], queues: [] });
      this.#kick();
    }
  }

  #kick(): void {
    if (this.#flushing !== null || this.#pending.length === 0) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      if (this.#pending.length > 0 && this.#retry === null) this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, 50);
      try {
        await this.#db.tx('cannot store alert state', async (c) => {
          for (const t of batch) for (const [sql, p] of t.stmts) await c.query(sql, p);
        });
        this.#pending.splice(0, batch.length);
        for (const t of batch) for (const id of t.queues) this.#unsaved.delete(id);
      } catch (err) {
        this.#log?.warn({ err: (err as Error).message, waiting: this.#pending.length }, 'alert state not stored yet; trying again in 1 s');
        await new Promise<void>((r) => {
          this.#retry = setTimeout(r, 1000);
          this.#retry.unref();
        });
        this.#retry = null;
      }
    }
  }

  open(): AlertRecord[] {
    return [...this.#alerts.values()].filter((a) => a.status !== 'resolved').sort((a, b) => a.id - b.id);
  }
  all(limit: number): AlertRecord[] {
    return [...this.#alerts.values()].sort((a, b) => b.id - a.id).slice(0, limit);
  }
  insert(rec: Omit<AlertRecord, 'id'>): AlertRecord {
    const a = { ...rec, id: this.#id() };
    this.#alerts.set(a.id, a);
    this.#write(UPSERT, params(a));
    return { ...a };
  }
  update(rec: AlertRecord): void {
    this.#alerts.set(rec.id, { ...rec });
    this.#write(UPSERT, params(rec));
    const resolved = [...this.#alerts.values()].filter((a) => a.status === 'resolved');
    if (resolved.length > KEEP_RESOLVED) for (const a of resolved.sort((x, y) => x.id - y.id).slice(0, resolved.length - KEEP_RESOLVED)) this.#alerts.delete(a.id);
  }
  remove(id: number): void {
    this.#alerts.delete(id);
    this.#write('DELETE FROM alerts WHERE id = $1', [id]);
  }
  /**
   * Queues a notification. With `supersede` (main's AlertStore gains it with the Alertmanager
   * notifier), the alert's older posts still queued for this notifier are marked failed, never
   * sent, and only its newest KEEP_SUPERSEDED posts for this notifier are kept, as on SQLite.
   */
  enqueue(alertId: number, notifier: string, body: string, now: number, supersede = false): void {
    const id = this.#id();
    this.transaction(() => {
      if (supersede) {
        for (const d of [...this.#queue.values()]) if (d.alertId === alertId && d.notifier === notifier) this.#queue.delete(d.id);
        this.#write("UPDATE alert_deliveries SET state = 'failed', last_error = 'superseded by a newer post' WHERE state = 'queued' AND alert_id = $1 AND notifier = $2", [alertId, notifier]);
      }
      this.#queue.set(id, { id, alertId, notifier, body, attempts: 0, next: now });
      this.#unsaved.add(id);
      this.#open?.queues.push(id);
      this.#write("INSERT INTO alert_deliveries (id, alert_id, notifier, body, created, state, next_attempt) VALUES ($1, $2, $3, $4, $5, 'queued', $5) ON CONFLICT (id) DO NOTHING", [
        id,
        alertId,
        notifier,
        body,
        now,
      ]);
      if (supersede)
        this.#write(
          `DELETE FROM alert_deliveries WHERE alert_id = $1 AND notifier = $2 AND state <> 'queued'
           AND id < (SELECT min(id) FROM (SELECT id FROM alert_deliveries WHERE alert_id = $1 AND notifier = $2 ORDER BY id DESC LIMIT ${KEEP_SUPERSEDED}) AS newest)`,
          [alertId, notifier],
        );
    });
  }
  due(now: number, limit: number): Delivery[] {
    const out: Delivery[] = [];
    for (const d of this.#queue.values()) {
      if (out.length >= limit) break;
      if (d.next <= now && !this.#unsaved.has(d.id)) out.push({ id: d.id, alertId: d.alertId, notifier: d.notifier, body: d.body, attempts: d.attempts });
    }
    return out;
  }
  sent(id: number, now: number): void {
    this.#queue.delete(id);
    this.#write("UPDATE alert_deliveries SET state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2", [now, id]);
  }
  retry(id: number, attempts: number, next: number, error: string): void {
    const d = this.#queue.get(id);
    if (d !== undefined) {
      d.attempts = attempts;
      d.next = next;
    }
    this.#write('UPDATE alert_deliveries SET attempts = $1, next_attempt = $2, last_error = $3 WHERE id = $4', [attempts, next, error.slice(0, 500), id]);
  }
  failed(id: number, attempts: number, error: string): void {
    this.#queue.delete(id);
    this.#write("UPDATE alert_deliveries SET state = 'failed', attempts = $1, last_error = $2 WHERE id = $3", [attempts, error.slice(0, 500), id]);
  }
  queued(): number {
    return this.#queue.size;
  }
  prune(before: number): number {
    // Counted in memory (the rows go when the writer gets there).
    let n = 0;
    for (const a of [...this.#alerts.values()])
      if (a.status === 'resolved' && a.endsAt !== null && a.endsAt < before) {
        this.#alerts.delete(a.id);
        n++;
      }
    this.transaction(() => {
      this.#write("DELETE FROM alert_deliveries WHERE state <> 'queued' AND alert_id IN (SELECT id FROM alerts WHERE status = 'resolved' AND ends_at < $1)", [before]);
      this.#write("DELETE FROM alerts WHERE status = 'resolved' AND ends_at < $1 AND id NOT IN (SELECT alert_id FROM alert_deliveries)", [before]);
    });
    return n;
  }
  transaction<T>(fn: () => T): T {
    if (this.#open !== null) return fn();
    this.#open = { stmts: [], queues: [] };
    try {
      const out = fn();
      if (this.#open.stmts.length > 0) this.#pending.push(this.#open);
      return out;
    } finally {
      this.#open = null;
      this.#kick();
    }
  }

  /** Resolves once every write made so far is committed (rejects after `timeoutMs`). */
  async durable(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.length > 0 || this.#flushing !== null) {
      if (Date.now() >= deadline) throw new Error(`alert state not stored within ${timeoutMs} ms (${this.#pending.length} transactions waiting)`);
      this.#kick();
      await Promise.race([this.#flushing, new Promise((r) => setTimeout(r, 100))]);
    }
  }

  /** Resolves once every write made so far is committed (or after 10 s: the rest is logged as lost). */
  async close(): Promise<void> {
    await this.durable().catch(() => this.#log?.error({ transactions: this.#pending.length }, 'alert state not stored at stop'));
  }
}
