/**
 * The alert engine on a real SQLite file with a clock the test moves, as the engine's unit tests
 * drive it: a fresh database file, or a given one (a restart on the same database).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Snapshot } from '@tcpfleet/common';
import { SqliteAlertStore } from '../../packages/collector/src/alerts/alert-store.js';
import type { AlertRecord } from '../../packages/collector/src/alerts/alert-store.js';
import { AlertEngine } from '../../packages/collector/src/alerts/engine.js';
import { parseRules } from '../../packages/collector/src/alerts/rules-file.js';
import { tempDir } from './procs.js';

/**
 * An engine with the rules of `rulesYaml` (read as r.yml), its clock at `t0`; what it opens is
 * closed by `cleanups` (the database last pushed, so a test can close it early and pop it).
 */
export function engineOnFile(rulesYaml: string, cleanups: (() => void)[], t0: number, file?: string) {
  let dbFile = file;
  if (dbFile === undefined) {
    const tmp = tempDir('alert-engine');
    cleanups.push(tmp.cleanup);
    dbFile = join(tmp.dir, 'alerts.db');
  }
  const db = new Database(dbFile);
  cleanups.push(() => db.close());
  const store = new SqliteAlertStore(db);
  const clock = { now: t0 };
  const engine = new AlertEngine({ store, log: pino({ level: 'silent' }), onQueued: () => {}, now: () => clock.now });
  engine.setRules(parseRules(rulesYaml, 'r.yml'));
  /** The notifications queued so far, oldest first. */
  const deliveries = (): { notifier: string; body: Record<string, unknown> }[] =>
    (db.prepare('SELECT notifier, body FROM alert_deliveries ORDER BY id').all() as { notifier: string; body: string }[]).map((r) => ({
      notifier: r.notifier,
      body: JSON.parse(r.body) as Record<string, unknown>,
    }));
  /** Sends one sample per call, received at the sample's time (unless `recv` says otherwise). */
  const feed = (s: Snapshot | Snapshot[], recv?: number): void => {
    const list = Array.isArray(s) ? s : [s];
    const r = recv ?? Math.max(...list.map((x) => x.ts));
    clock.now = Math.max(clock.now, r);
    engine.ingest([{ host: list[0]!.host, labels: list[0]!.labels, snapshots: list }], r);
  };
  return { engine, store, clock, deliveries, feed, dbFile, db };
}

/** A pending spike alert on host `host` since `since`, as the engine inserts one (for AlertStore tests). */
export function pendingSpike(host: string, since: number): Omit<AlertRecord, 'id'> {
  return {
    rule: 'spike',
    key: host,
    status: 'pending',
    severity: 'warning',
    host,
    labels: { env: 'x' },
    metric: 'states.established',
    value: 200,
    baseline: 4,
    pendingSince: since,
    startsAt: null,
    endsAt: null,
    lastNotified: null,
    evidence: null,
  };
}
