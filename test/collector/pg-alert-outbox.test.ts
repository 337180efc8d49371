/**
 * The PostgreSQL alert outbox beyond the conformance cases (test/store/conformance): its writes go
 * to the database behind the engine, so a queued notification must not be delivered before the
 * transaction that recorded its transition is committed (otherwise a leader killed in between has
 * told the receiver of a transition the next leader never finds, and notifies it again). Here the
 * outbox table is held by another session's lock, so the commit is provably waiting (PostgreSQL
 * says so in pg_stat_activity) while the delivery pump runs against a real webhook receiver.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLogger } from '../../packages/collector/src/log.js';
import { PgStore } from '../../packages/collector/src/store/pg/pg-store.js';
import { DeliveryPump, IDEMPOTENCY_HEADER, deliveryKey } from '../../packages/collector/src/alerts/notify.js';
import type { Notifier } from '../../packages/collector/src/alerts/rules-file.js';
import { usePostgres } from '../helpers/postgres.js';
import { startWebhook } from '../helpers/webhook.js';
import { waitFor } from '../helpers/procs.js';
import { pendingSpike } from '../helpers/alert-engine.js';

const log = createLogger('silent');
const NOW = Date.now();

const pgServer = usePostgres();

describe('the alert outbox on PostgreSQL', () => {
  it('a notification is not delivered while its transition is not committed; once committed it is, once, with its idempotency key', async () => {
    const url = await pgServer().createDatabase('outbox');
    const store = await PgStore.open(url);
    const hook = await startWebhook();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    let pump: DeliveryPump | null = null;
    try {
      const a = await store.openAlerts();
      const rec = a.insert(pendingSpike('h1', NOW));
      await a.durable();
      const notifier: Notifier = { name: 'hook', type: 'webhook', url: hook.url(), format: 'json', timeoutMs: 2000, retries: 3, backoffMs: 200, secret: null };
      pump = new DeliveryPump({ store: a, log, notifiers: () => new Map([['hook', notifier]]), pollMs: 20 });
      pump.start();

      // Another session holds the outbox table: the transition's commit has to wait for it.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE alert_deliveries IN ACCESS EXCLUSIVE MODE');
      a.transaction(() => {
        a.update({ ...rec, status: 'firing', startsAt: NOW + 1000, lastNotified: NOW + 1000 });
        a.enqueue(rec.id, 'hook', '{"status":"firing"}', NOW + 1000);
      });
      pump.kick();
      const waiting = async (): Promise<number> =>
        Number((await pgServer().sql<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%alert_deliveries%'"))[0]?.n);
      await waitFor(async () => (await waiting()) === 1, 'the commit of the transition to wait on the lock', 10_000, 20);
      // Queued, but not due: the database does not have it yet.
      expect(a.queued()).toBe(1);
      expect(a.due(Date.now() + 60_000, 10)).toEqual([]);
      // The pump (polling every 20 ms since before the transition) has posted nothing.
      expect(hook.received).toHaveLength(0);

      // The lock goes: the transition commits and the notification goes out, once, with its key.
      await holder.query('ROLLBACK');
      await a.durable();
      await waitFor(() => hook.received.length === 1, 'the notification', 10_000, 20);
      const { rows } = await holder.query<{ id: string; state: string; notifier: string; body: string }>('SELECT id, state, notifier, body FROM alert_deliveries WHERE alert_id = $1', [rec.id]);
      expect(rows).toHaveLength(1);
      const key = deliveryKey({ id: Number(rows[0]!.id), notifier: rows[0]!.notifier, body: rows[0]!.body });
      expect(hook.received[0]!.headers[IDEMPOTENCY_HEADER]).toBe(key);
      expect(hook.received[0]!.body).toBe('{"status":"firing"}');
      await waitFor(
        async () => (await holder.query<{ state: string }>('SELECT state FROM alert_deliveries WHERE alert_id = $1', [rec.id])).rows[0]?.state === 'sent',
        'the delivery to be marked sent',
        10_000,
        20,
      );
      expect(hook.received).toHaveLength(1);
      await pump.stop();
      pump = null;
      await a.close?.();
    } finally {
      await pump?.stop();
      await holder.end().catch(() => undefined);
      await hook.close();
      await store.close();
    }
  }, 60_000);
});
