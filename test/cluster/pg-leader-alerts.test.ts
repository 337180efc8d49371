/**
 * Alerts across several collectors on one real PostgreSQL 15 (throwaway server, real collector
 * processes, a real webhook receiver, loopback):
 *  - the leader is killed with SIGKILL at the worst moment for a notification: its firing POST has
 *    reached the receiver, which holds it unanswered, so the leader never learns it was delivered;
 *  - at that moment the transition and its delivery are already committed (the row the next leader
 *    resumes from), the next leader sends the same notification again with the same body and
 *    Idempotency-Key (at least once: one transition, one key), and the resolution goes out once;
 *  - every collector answers GET /api/v1/alerts (and `tcpfleet alerts`, /metrics) with what the
 *    leader says; GET /api/v1/rules is the leader's (503 TCPFLEET_ERR_NOT_LEADER elsewhere).
 */
import { describe, expect, it } from 'vitest';
import { cli, waitFor } from '../helpers/procs.js';
import { getJson, httpGet } from '../helpers/http.js';
import { leadersAmong } from '../helpers/pg-collector.js';
import type { PgCollector } from '../helpers/pg-collector.js';
import type { Received } from '../helpers/webhook.js';
import { clusterFixture, startSpikeCluster } from '../helpers/cluster-fixture.js';
import { Feeder } from '../helpers/feeder.js';
import { deliveryKey } from '../../packages/collector/src/alerts/notify.js';

const TOKEN = 'leader-alerts-token-0123456789';
const KEY = 'idempotency-key';

interface Alert {
  status: string;
  rule: string;
  host?: string;
  value: number | null;
  startsAt: number;
  endsAt: number | null;
}

/** An alert list without the values of open alerts (the leader's engine holds newer ones than the database). */
const stateOf = (list: Alert[]): unknown[] => list.map(({ value, ...rest }) => (rest.status === 'resolved' ? { value, ...rest } : rest));

describe('alerts across collectors on one PostgreSQL', () => {
  // The first POST is received and never answered: the leader is killed while it waits.
  const fx = clusterFixture('pg-leader-alerts', { kind: 'hang-first', times: 1 });
  const { feeders } = fx;

  it('kill -9 of the leader while its firing POST is in flight: the transition was stored first, the next leader sends it again with the same key, resolves once; every collector reads the same alerts', async () => {
    const server = fx.server();
    const rx = fx.hook();
    const { cols, leader, others } = await startSpikeCluster(fx, TOKEN);
    const leaders = leadersAmong;

    // Load on the followers (they outlive the leader): a steady host and the one that spikes.
    const steady = new Feeder('steady', '00000000-0000-4000-8000-0000000000d1', TOKEN);
    const spiky = new Feeder('spiky', '00000000-0000-4000-8000-0000000000e1', TOKEN);
    feeders.push(steady, spiky);
    await steady.open(others[0].wsUrl);
    await spiky.open(others[1].wsUrl);
    let level = 4;
    let feeding = true;
    const loop = async (f: Feeder, n: () => number): Promise<void> => {
      for (let i = 0; i < 2000 && feeding; i++) {
        await f.send(n());
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const loops = [loop(steady, () => 10), loop(spiky, () => level)];
    const posts = (status: string): Received[] => rx.received.filter((r) => (r.json as { host?: string; status?: string } | null)?.host === 'spiky' && r.json?.['status'] === status);
    const alertsOf = (c: PgCollector, q = ''): Promise<Alert[]> => getJson<Alert[]>(`${c.url}/api/v1/alerts${q}`);
    try {
      // A baseline on the leader: spiky's snapshots reach its engine through the fleet sync.
      await waitFor(async () => (await getJson<{ seq: number }>(`${leader.url}/api/v1/hosts/spiky`).catch(() => ({ seq: 0 }))).seq >= 12, 'a baseline of spiky on the leader', 30_000, 100);
      // Every collector answers the alert routes while nothing fires; rules only on the leader.
      for (const c of cols) expect(await alertsOf(c)).toEqual([]);
      const rulesOnFollower = await httpGet(`${others[0].url}/api/v1/rules`);
      expect(rulesOnFollower.status).toBe(503);
      expect((JSON.parse(rulesOnFollower.body) as { error: { code: string; message: string } }).error.code).toBe('TCPFLEET_ERR_NOT_LEADER');
      expect((await httpGet(`${leader.url}/api/v1/rules`)).status).toBe(200);

      level = 200;
      await waitFor(() => posts('firing').length >= 1, 'the firing POST to reach the receiver', 30_000, 5);
      // The POST is in flight (held by the receiver): kill the leader now.
      process.kill(leader.pid, 'SIGKILL');
      const first = posts('firing')[0]!;
      const key = first.headers[KEY];
      expect(typeof key).toBe('string');
      await waitFor(() => leader.proc.exitCode !== null || leader.proc.signalCode !== null, 'the leader to die', 5000);

      // What the dead leader left: the transition and its delivery, committed, not marked sent.
      const stored = await server.sql<{ status: string; id: string; notifier: string; body: string; state: string }>(
        "SELECT a.status, d.id, d.notifier, d.body, d.state FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id WHERE a.host = 'spiky'",
      );
      expect(stored.map((r) => [r.status, r.state])).toEqual([['firing', 'queued']]);
      expect(deliveryKey({ id: Number(stored[0]!.id), notifier: stored[0]!.notifier, body: stored[0]!.body })).toBe(key);
      expect(stored[0]!.body).toBe(first.body);

      // Another collector leads and delivers what the dead one did not see acknowledged: the same post, the same key.
      await waitFor(async () => (await leaders(others)).length === 1, 'another collector to lead', 10_000, 50);
      const [next] = await leaders(others);
      const follower = others.find((c) => c !== next)!;
      await waitFor(() => posts('firing').length >= 2, 'the firing notification again from the next leader', 15_000, 20);
      await waitFor(
        async () => (await server.sql<{ state: string }>(`SELECT state FROM alert_deliveries WHERE id = ${Number(stored[0]!.id)}`))[0]?.state === 'sent',
        'the firing delivery to be marked sent',
        10_000,
        50,
      );
      const firing = posts('firing');
      expect(firing).toHaveLength(2);
      expect(firing.map((p) => p.headers[KEY])).toEqual([key, key]);
      expect(firing[1]!.body).toBe(first.body);
      console.log(`[figures] firing delivered again by the next leader ${firing[1]!.at - first.at} ms after the first (held) post`);

      // Reads on the follower equal the leader's (values of open alerts aside: the leader's engine holds newer ones).
      const onLeader = await alertsOf(next!);
      expect(onLeader.map((a) => [a.status, a.rule, a.host])).toEqual([['firing', 'established-spike', 'spiky']]);
      expect(stateOf(await alertsOf(follower))).toEqual(stateOf(onLeader));
      expect(stateOf(await alertsOf(follower, '?all=1'))).toEqual(stateOf(await alertsOf(next!, '?all=1')));
      expect(stateOf(await alertsOf(follower, '?selector=' + encodeURIComponent('nosuchlabel=x')))).toEqual([]);
      // `tcpfleet alerts` on the follower, and its /metrics.
      const out = cli(['alerts', '--json', '--url', follower.url]);
      expect(out.stderr).toBe('');
      expect(stateOf(JSON.parse(out.stdout) as Alert[])).toEqual(stateOf(onLeader));
      await waitFor(
        async () => /tcpfleet_alert_firing\{[^}]*host="spiky"[^}]*\} 1/.test((await httpGet(`${follower.url}/metrics`)).body),
        'the follower /metrics to show the firing alert',
        10_000,
        100,
      );

      // The spike ends: resolved once, delivered, nothing left queued (no further post can come).
      level = 4;
      await waitFor(() => posts('resolved').length >= 1, 'the spike to resolve', 30_000, 20);
      await waitFor(async () => Number((await server.sql<{ n: string }>("SELECT count(*) AS n FROM alert_deliveries WHERE state = 'queued'"))[0]?.n) === 0, 'the outbox to be empty', 10_000, 50);
      const resolved = posts('resolved');
      expect(resolved).toHaveLength(1);
      expect(resolved[0]!.headers[KEY]).not.toBe(key);
      expect(posts('firing')).toHaveLength(2);
      const states = await server.sql<{ state: string; n: string }>("SELECT d.state, count(*) AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.host = 'spiky' GROUP BY d.state");
      expect(states.map((r) => [r.state, Number(r.n)])).toEqual([['sent', 2]]);
      expect(Number((await server.sql<{ n: string }>("SELECT count(*) AS n FROM alerts WHERE host = 'spiky'"))[0]?.n)).toBe(1);

      // After the resolution every collector answers the same, values included.
      await waitFor(async () => (await alertsOf(follower)).length === 0, 'the follower to see it resolved', 10_000, 50);
      expect(await alertsOf(next!)).toEqual([]);
      const history = await alertsOf(next!, '?all=1');
      expect(history.map((a) => [a.status, a.host])).toEqual([['resolved', 'spiky']]);
      expect(await alertsOf(follower, '?all=1')).toEqual(history);
    } finally {
      feeding = false;
      await Promise.all(loops);
    }
    // Every snapshot the feeders saw acknowledged is stored, once.
    for (const f of [steady, spiky]) {
      const rows = await server.sql<{ seq: string; n: string }>('SELECT seq, count(*) AS n FROM snapshots WHERE host = $1 GROUP BY seq', [f.host]);
      const got = new Map(rows.map((r) => [Number(r.seq), Number(r.n)]));
      expect(f.acked.length).toBeGreaterThan(10);
      for (const s of f.acked) expect(got.get(s), `${f.host} seq ${s}`).toBe(1);
    }
  }, 240_000);
});
