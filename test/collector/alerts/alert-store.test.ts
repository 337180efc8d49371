/** The alert tables on a real SQLite file: one open alert per rule and key, the outbox, pruning. */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteAlertStore } from '../../../packages/collector/src/alerts/alert-store.js';
import type { AlertRecord } from '../../../packages/collector/src/alerts/alert-store.js';
import { tempDir } from '../../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function open(): { store: SqliteAlertStore; db: Database.Database; file: string } {
  const tmp = tempDir('alert-store');
  const file = join(tmp.dir, 'a.db');
  const db = new Database(file);
  cleanups.push(tmp.cleanup, () => db.close());
  return { store: new SqliteAlertStore(db), db, file };
}

const base: Omit<AlertRecord, 'id'> = {
  rule: 'r',
  key: 'h',
  status: 'firing',
  severity: 'warning',
  host: 'h',
  labels: {},
  metric: 'states.listen',
  value: 1,
  baseline: null,
  pendingSince: 1,
  startsAt: 2,
  endsAt: null,
  lastNotified: 2,
  evidence: null,
};

describe('SqliteAlertStore', () => {
  it('allows one open alert per rule and key, any number of resolved ones', () => {
    const { store } = open();
    const a = store.insert(base);
    expect(() => store.insert(base)).toThrow(/UNIQUE/);
    store.update({ ...a, status: 'resolved', endsAt: 3 });
    store.insert(base);
    expect(store.open()).toHaveLength(1);
    expect(store.all(10)).toHaveLength(2);
  });

  it('keeps the outbox: due, retry later, sent, failed', () => {
    const { store } = open();
    const a = store.insert(base);
    store.enqueue(a.id, 'hook', '{"x":1}', 100);
    store.enqueue(a.id, 'hook', '{"x":2}', 100);
    const [d1, d2] = store.due(100, 10);
    expect(d1).toMatchObject({ alertId: a.id, notifier: 'hook', body: '{"x":1}', attempts: 0 });
    store.retry(d1!.id, 1, 500, 'ECONNREFUSED');
    store.sent(d2!.id, 120);
    expect(store.due(200, 10)).toEqual([]);
    expect(store.due(500, 10)).toMatchObject([{ id: d1!.id, attempts: 1 }]);
    expect(store.queued()).toBe(1);
    store.failed(d1!.id, 4, 'HTTP 500');
    expect(store.queued()).toBe(0);
  });

  it('prunes resolved alerts that ended long ago with their finished deliveries, never open ones or queued deliveries', () => {
    const { store } = open();
    const old = store.insert({ ...base, rule: 'old' });
    store.update({ ...old, status: 'resolved', endsAt: 1000 });
    store.enqueue(old.id, 'hook', '{}', 900);
    store.sent(store.due(900, 1)[0]!.id, 950);
    const stuck = store.insert({ ...base, rule: 'stuck' });
    store.update({ ...stuck, status: 'resolved', endsAt: 1000 });
    store.enqueue(stuck.id, 'hook', '{}', 900); // still queued: kept
    store.insert({ ...base, rule: 'open' });
    expect(store.prune(5000)).toBe(1);
    expect(
      store
        .all(10)
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['open', 'stuck']);
    expect(store.queued()).toBe(1);
  });

  it('reopens the same tables (a restart) and refuses tables from a newer collector', () => {
    const { db, file } = open();
    new SqliteAlertStore(db).insert(base);
    const again = new Database(file);
    cleanups.push(() => again.close());
    expect(new SqliteAlertStore(again).open()).toHaveLength(1);
    again.prepare('UPDATE alert_schema SET version = 99').run();
    expect(() => new SqliteAlertStore(again)).toThrow(/newer than this collector/);
  });
});
