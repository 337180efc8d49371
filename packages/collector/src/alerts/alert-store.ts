/**
 * Where alert state lives: the alerts (pending, firing, resolved, with the evidence captured when
 * each fired) and the notification outbox. A transition and the notifications it causes are
 * written in one transaction, and a queued notification is due only once that transaction is
 * durable, so a collector restart (or the next leader on a shared PostgreSQL) neither forgets a
 * firing alert nor loses or repeats a notification that was delivered (one in flight at the moment
 * of a crash is sent again with the same idempotency key: at least once, notify.ts).
 *
 * The SQLite implementation keeps its own tables in the collector's database (created if missing,
 * versioned in alert_schema), so it needs no slot in store/migrations.ts. The interface is
 * synchronous because the engine runs between two commits of the ingest writer and must not yield.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Breakdown } from '@tcpfleet/common';
import type { NamespaceEvidence } from './container-scope.js';

/** What an alert shows when it fires: the host's breakdown, or for a container alert its namespace. */
export type AlertEvidence = Breakdown | NamespaceEvidence;

/** Lifecycle of an alert. */
export type AlertStatus = 'pending' | 'firing' | 'resolved';

/** One alert: a rule for one host (or the fleet), from pending to resolved. */
export interface AlertRecord {
  id: number;
  rule: string;
  /** The host name, '' for a fleet-scope alert, `HOST netns=N` for a container-scope alert. */
  key: string;
  status: AlertStatus;
  severity: string;
  host: string | null;
  labels: Record<string, string>;
  metric: string | null;
  value: number | null;
  baseline: number | null;
  pendingSince: number;
  startsAt: number | null;
  endsAt: number | null;
  lastNotified: number | null;
  evidence: AlertEvidence | null;
}

/** A queued notification: the body is fixed when it is queued. */
export interface Delivery {
  id: number;
  alertId: number;
  notifier: string;
  body: string;
  attempts: number;
}

/** Everything the engine and the notifier need from storage. */
export interface AlertStore {
  /** Pending and firing alerts. */
  open(): AlertRecord[];
  /** Every alert, newest first. */
  all(limit: number): AlertRecord[];
  insert(rec: Omit<AlertRecord, 'id'>): AlertRecord;
  update(rec: AlertRecord): void;
  remove(id: number): void;
  /**
   * Queues a notification for delivery. With `supersede`, the alert's older ones still queued for
   * this notifier are marked failed (never sent), and only its newest 10 for this notifier are kept.
   */
  enqueue(alertId: number, notifier: string, body: string, now: number, supersede?: boolean): void;
  /** Deliveries due at `now`, oldest first: only those whose queuing transaction is durable. */
  due(now: number, limit: number): Delivery[];
  sent(id: number, now: number): void;
  retry(id: number, attempts: number, next: number, error: string): void;
  failed(id: number, attempts: number, error: string): void;
  /** Queued deliveries (for health and tests). */
  queued(): number;
  /** Deletes resolved alerts that ended before `before`, with their deliveries; returns how many. */
  prune(before: number): number;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
  /** Resolves once every write made so far is durable (SQLite: at once; PostgreSQL writes behind). */
  durable(): Promise<void>;
  /** Waits until every write made is durable (a driver that writes behind: PostgreSQL); called at stop. */
  close?(): Promise<void>;
}

const SCHEMA_VERSION = 1;
/** Posts of one alert to one notifier kept when each new one supersedes the older (Alertmanager re-posts). */
const KEEP_SUPERSEDED = 10;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS alert_schema (version INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
    severity TEXT NOT NULL,
    host TEXT,
    labels TEXT NOT NULL,
    metric TEXT,
    value REAL,
    baseline REAL,
    pending_since INTEGER NOT NULL,
    starts_at INTEGER,
    ends_at INTEGER,
    last_notified INTEGER,
    evidence TEXT
  ) STRICT;
  CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (rule, key) WHERE status <> 'resolved';
  CREATE TABLE IF NOT EXISTS alert_deliveries (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    notifier TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error TEXT,
    sent_at INTEGER
  ) STRICT;
  CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (next_attempt) WHERE state = 'queued';
`;

/** An alerts table row (both drivers' columns). */
export interface AlertRow {
  id: number;
  rule: string;
  key: string;
  status: AlertStatus;
  severity: string;
  host: string | null;
  labels: string;
  metric: string | null;
  value: number | null;
  baseline: number | null;
  pending_since: number;
  starts_at: number | null;
  ends_at: number | null;
  last_notified: number | null;
  evidence: string | null;
}

export const fromRow = (r: AlertRow): AlertRecord => ({
  id: r.id,
  rule: r.rule,
  key: r.key,
  status: r.status,
  severity: r.severity,
  host: r.host,
  labels: JSON.parse(r.labels) as Record<string, string>,
  metric: r.metric,
  value: r.value,
  baseline: r.baseline,
  pendingSince: r.pending_since,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  lastNotified: r.last_notified,
  evidence: r.evidence === null ? null : (JSON.parse(r.evidence) as AlertEvidence),
});

/** The alerts not resolved, oldest first (both drivers). */
export const OPEN_ALERTS_SQL = "SELECT * FROM alerts WHERE status <> 'resolved' ORDER BY id";
/** The newest alerts, any status (SQLite's parameter; PostgreSQL's store writes $1). */
const NEWEST_ALERTS_SQL = 'SELECT * FROM alerts ORDER BY id DESC LIMIT ?';

/** Alerts as stored (Store.readAlerts): open ones, or with `all` the newest `limit`; none before the tables exist. */
export function readSqliteAlerts(db: Db, all: boolean, limit: number): AlertRecord[] {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").get() === undefined) return [];
  const rows = all ? db.prepare(NEWEST_ALERTS_SQL).all(limit) : db.prepare(OPEN_ALERTS_SQL).all();
  return (rows as AlertRow[]).map(fromRow);
}

/** Alert state in the collector's SQLite database. */
export class SqliteAlertStore implements AlertStore {
  readonly #db: Db;
  readonly #s: Record<string, Statement>;

  constructor(db: Db) {
    this.#db = db;
    db.transaction(() => {
      db.exec(SCHEMA);
      const v = db.prepare('SELECT version FROM alert_schema').get() as { version: number } | undefined;
      if (v === undefined) db.prepare('INSERT INTO alert_schema (version) VALUES (?)').run(SCHEMA_VERSION);
      else if (v.version > SCHEMA_VERSION) throw new Error(`alert tables have schema version ${v.version}, newer than this collector (${SCHEMA_VERSION}); upgrade tcpfleet`);
    })();
    const p = (sql: string): Statement => db.prepare(sql);
    this.#s = {
      open: p(OPEN_ALERTS_SQL),
      all: p(NEWEST_ALERTS_SQL),
      insert: p(`INSERT INTO alerts (rule, key, status, severity, host, labels, metric, value, baseline, pending_since, starts_at, ends_at, last_notified, evidence)
                 VALUES (@rule, @key, @status, @severity, @host, @labels, @metric, @value, @baseline, @pending_since, @starts_at, @ends_at, @last_notified, @evidence) RETURNING id`),
      update: p(`UPDATE alerts SET status = @status, severity = @severity, labels = @labels, value = @value, baseline = @baseline, pending_since = @pending_since,
                 starts_at = @starts_at, ends_at = @ends_at, last_notified = @last_notified, evidence = @evidence WHERE id = @id`),
      remove: p('DELETE FROM alerts WHERE id = ?'),
      enqueue: p("INSERT INTO alert_deliveries (alert_id, notifier, body, created, state, next_attempt) VALUES (?, ?, ?, ?, 'queued', ?)"),
      supersede: p("UPDATE alert_deliveries SET state = 'failed', last_error = 'superseded by a newer post' WHERE state = 'queued' AND alert_id = @a AND notifier = @n"),
      // A firing alert is re-posted every minute or so: only the newest posts of it are kept.
      trim: p(`DELETE FROM alert_deliveries WHERE alert_id = @a AND notifier = @n AND state <> 'queued'
               AND id < (SELECT min(id) FROM (SELECT id FROM alert_deliveries WHERE alert_id = @a AND notifier = @n ORDER BY id DESC LIMIT ${KEEP_SUPERSEDED}))`),
      due: p("SELECT id, alert_id AS alertId, notifier, body, attempts FROM alert_deliveries WHERE state = 'queued' AND next_attempt <= ? ORDER BY id LIMIT ?"),
      sent: p("UPDATE alert_deliveries SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?"),
      retry: p('UPDATE alert_deliveries SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?'),
      failed: p("UPDATE alert_deliveries SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?"),
      queued: p("SELECT count(*) AS n FROM alert_deliveries WHERE state = 'queued'"),
      pruneDeliveries: p("DELETE FROM alert_deliveries WHERE state <> 'queued' AND alert_id IN (SELECT id FROM alerts WHERE status = 'resolved' AND ends_at < ?)"),
      pruneAlerts: p("DELETE FROM alerts WHERE status = 'resolved' AND ends_at < ? AND id NOT IN (SELECT alert_id FROM alert_deliveries)"),
    };
  }

  #params(rec: Omit<AlertRecord, 'id'>): Record<string, unknown> {
    return {
      rule: rec.rule,
      key: rec.key,
      status: rec.status,
      severity: rec.severity,
      host: rec.host,
      labels: JSON.stringify(rec.labels),
      metric: rec.metric,
      value: rec.value,
      baseline: rec.baseline,
      pending_since: rec.pendingSince,
      starts_at: rec.startsAt,
      ends_at: rec.endsAt,
      last_notified: rec.lastNotified,
      evidence: rec.evidence === null ? null : JSON.stringify(rec.evidence),
    };
  }

  open(): AlertRecord[] {
    return (this.#s['open']!.all() as AlertRow[]).map(fromRow);
  }
  all(limit: number): AlertRecord[] {
    return (this.#s['all']!.all(limit) as AlertRow[]).map(fromRow);
  }
  insert(rec: Omit<AlertRecord, 'id'>): AlertRecord {
    const { id } = this.#s['insert']!.get(this.#params(rec)) as { id: number };
    return { ...rec, id };
  }
  update(rec: AlertRecord): void {
    this.#s['update']!.run({ ...this.#params(rec), id: rec.id });
  }
  remove(id: number): void {
    this.#s['remove']!.run(id);
  }
  enqueue(alertId: number, notifier: string, body: string, now: number, supersede = false): void {
    if (supersede) this.#s['supersede']!.run({ a: alertId, n: notifier });
    this.#s['enqueue']!.run(alertId, notifier, body, now, now);
    if (supersede) this.#s['trim']!.run({ a: alertId, n: notifier });
  }
  due(now: number, limit: number): Delivery[] {
    return this.#s['due']!.all(now, limit) as Delivery[];
  }
  sent(id: number, now: number): void {
    this.#s['sent']!.run(now, id);
  }
  retry(id: number, attempts: number, next: number, error: string): void {
    this.#s['retry']!.run(attempts, next, error.slice(0, 500), id);
  }
  failed(id: number, attempts: number, error: string): void {
    this.#s['failed']!.run(attempts, error.slice(0, 500), id);
  }
  queued(): number {
    return (this.#s['queued']!.get() as { n: number }).n;
  }
  prune(before: number): number {
    return this.transaction(() => {
      this.#s['pruneDeliveries']!.run(before);
      return this.#s['pruneAlerts']!.run(before).changes;
    });
  }
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
  durable(): Promise<void> {
    return Promise.resolve();
  }
}
