/**
 * Notification delivery and rules reload against a real collector and real HTTP receivers on
 * 127.0.0.1: a webhook that hangs never slows ingest and never loses the alert record; one that
 * fails is retried with backoff until it takes the notification; SIGHUP with a bad rules file
 * keeps the running rules (and says why in the log), with a good one adds rules without
 * disturbing the alerts already firing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '@tcpfleet/common';
import { cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { freePort, startWebhook } from '../helpers/webhook.js';
import type { WebhookReceiver } from '../helpers/webhook.js';
import { query } from '../helpers/checker.js';
import { waitForMoreSnapshots, waitForSampleTime } from '../helpers/progress.js';

const INTERVAL_MS = 500;

interface Payload {
  status: string;
  rule: string;
  host?: string;
  startsAt: number;
}

describe('alerting: delivery that hangs or fails, and SIGHUP reloads', () => {
  const tmp = tempDir('alerts-delivery');
  let hang: WebhookReceiver;
  let flaky: WebhookReceiver;
  let col: Collector;
  let agent: Proc;
  const rules = join(tmp.dir, 'rules.yml');
  const notifiers = (): string => `notifiers:
  - { name: hang, type: webhook, url: "${hang.url()}", format: json, timeout: 1s, retries: 2, backoff: 200ms }
  - { name: flaky, type: webhook, url: "${flaky.url()}", format: json, timeout: 2s, retries: 3, backoff: 200ms }
`;
  const r1 = `  - { name: listening, kind: threshold, metric: states.listen, op: ">=", value: 1, notify: [hang, flaky] }\n`;

  beforeAll(async () => {
    hang = await startWebhook({ kind: 'hang' });
    flaky = await startWebhook({ kind: 'fail-first', times: 2, status: 500 });
    writeFileSync(rules, `defaults: { for: 1s, grace: 1s, repeat: 1h }\n${notifiers()}rules:\n${r1}`);
    col = await startCollector(tmp.dir, ['--rules', rules]);
    // This host always has a listener: the collector itself.
    agent = startAgent(col, tmp.dir, ['--host-id', 'self']);
  });

  afterAll(async () => {
    if (agent !== undefined) await stopProc(agent);
    if (col !== undefined) await stopProc(col);
    killAll();
    await hang?.close();
    await flaky?.close();
    tmp.cleanup();
  });

  const logs = (msg: string): Record<string, unknown>[] => col.logs().filter((l) => l['msg'] === msg);

  it('a hanging webhook does not slow ingest and does not lose the alert record; a failing one is retried until it takes it', async () => {
    await waitFor(() => logs('alert firing').length === 1, 'the alert to fire', 30_000);
    const firedAt = Number(logs('alert firing')[0]!['time']);
    // The hanging receiver gets the first attempt and two retries (timeout 1 s each), then the pump gives up.
    await waitFor(() => logs('notification failed; giving up').length === 1, 'the hanging webhook to be given up', 30_000);
    const gaveUpAt = Number(logs('notification failed; giving up')[0]!['time']);
    expect(hang.received).toHaveLength(3);
    expect(new Set(hang.received.map((r) => r.body)).size).toBe(1);
    expect(
      logs('notification failed; will retry')
        .filter((l) => l['notifier'] === 'hang')
        .map((l) => l['attempts']),
    ).toEqual([1, 2]);

    // Ingest went on at its normal pace while deliveries hung: snapshots kept arriving every interval.
    const hist = JSON.parse(cli(['history', 'self', '--json', '--since', '5m', '--url', col.url]).stdout) as (Snapshot & { recv_ts: number })[];
    const during = hist.filter((s) => s.recv_ts >= firedAt && s.recv_ts <= gaveUpAt);
    const expected = (gaveUpAt - firedAt) / INTERVAL_MS;
    expect(gaveUpAt - firedAt).toBeGreaterThanOrEqual(2000);
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(expected * 0.6));
    // Each snapshot stored soon after it was taken (the agent acknowledges one batch at a time).
    for (const s of during) expect(s.recv_ts - s.ts).toBeLessThan(5000);

    // The failing receiver: two 500s, then it takes the same body.
    await waitFor(() => logs('notification delivered').some((l) => l['notifier'] === 'flaky'), 'delivery to the flaky webhook', 30_000);
    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((r) => r.body)).size).toBe(1);
    // Every attempt carries the same idempotency key (a receiver can drop a repeat: at least once).
    expect(new Set(flaky.received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(flaky.received[0]!.headers['idempotency-key']).toMatch(/^tcpfleet-\d+-[0-9a-f]{16}$/);
    expect(flaky.received[2]!.json).toMatchObject({ status: 'firing', rule: 'listening', host: 'self' });

    // The alert record is there whatever the webhooks did.
    const open = JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[];
    expect(open).toMatchObject([{ status: 'firing', rule: 'listening', host: 'self' }]);
  });

  it('SIGHUP with a bad rules file keeps the running rules and logs why; with a good one, adds rules and keeps alert state', async () => {
    const before = (JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[])[0]!;
    writeFileSync(
      rules,
      `defaults: { for: 1s, grace: 1s, repeat: 1h }\n${notifiers()}rules:\n${r1}  - name: broken\n    kind: spike\n    metric: states.established\n    window: ten minutes\n    factor: 3\n`,
    );
    col.proc.kill('SIGHUP');
    await waitFor(() => logs('rules reload failed; keeping the previous rules').length === 1, 'the failed reload to be logged');
    const failed = logs('rules reload failed; keeping the previous rules')[0]!;
    expect(failed['problems']).toEqual([`${rules}:10: rule "broken": field "window": a duration such as 30s, 10m, 1h (got "ten minutes")`]);
    const kept = JSON.parse(await fetch(`${col.url}/api/v1/rules`).then((r) => r.text())) as { rules: { name: string }[]; reload: { ok: boolean } };
    expect(kept.rules.map((r) => r.name)).toEqual(['listening']);
    expect(kept.reload.ok).toBe(false);
    expect(col.proc.exitCode).toBeNull();

    writeFileSync(
      rules,
      `defaults: { for: 1s, grace: 1s, repeat: 1h }\n${notifiers()}rules:\n${r1}  - { name: listening-too, kind: threshold, metric: states.listen, op: ">", value: 0, notify: [flaky] }\n`,
    );
    col.proc.kill('SIGHUP');
    await waitFor(() => logs('rules reloaded').length === 1, 'the good reload');
    const now = JSON.parse(await fetch(`${col.url}/api/v1/rules`).then((r) => r.text())) as { rules: { name: string }[]; reload: { ok: boolean } };
    expect(now.rules.map((r) => r.name)).toEqual(['listening', 'listening-too']);
    expect(now.reload.ok).toBe(true);
    await waitFor(() => flaky.received.some((r) => (r.json as Payload | null)?.rule === 'listening-too'), 'the new rule to fire');
    // Four more samples judged under the new rules.
    await waitForMoreSnapshots(col.db, 'self', 4, 'four more samples after the reload');
    // The alert that was firing before the reloads is the same alert, not notified again.
    const after = JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[];
    expect(after.find((a) => a.rule === 'listening')).toMatchObject({ status: 'firing', startsAt: before.startsAt });
    expect(flaky.received.filter((r) => (r.json as Payload | null)?.rule === 'listening')).toHaveLength(3);
    expect(logs('alert firing').filter((l) => (l['alert'] as Payload)['rule'] === 'listening')).toHaveLength(1);
    // One notification per notifier (hang, flaky) queued for it, ever.
    expect(query<{ n: number }>(col.db, "SELECT count(*) AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.rule = 'listening'")[0]?.n).toBe(2);
  });
});

describe('alerting: a notification queued across a collector restart', () => {
  const tmp = tempDir('alerts-restart-queue');
  const procs: Proc[] = [];
  let receiver: WebhookReceiver | null = null;

  afterAll(async () => {
    for (const p of procs) await stopProc(p);
    killAll();
    await receiver?.close();
    tmp.cleanup();
  });

  it('is delivered once after the restart when the receiver was down before it, and the alert does not fire again', async () => {
    const port = await freePort(); // nothing listens there yet: connection refused
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(
      rules,
      `notifiers:\n  - { name: later, type: webhook, url: "http://127.0.0.1:${port}/hook", format: json, timeout: 1s, retries: 10, backoff: 1s }\nrules:\n  - { name: listening, kind: threshold, metric: states.listen, op: ">=", value: 1, for: 1s, grace: 1s, notify: [later] }\n`,
    );
    const a = await startCollector(tmp.dir, ['--rules', rules]);
    procs.push(a);
    const agentA = startAgent(a, tmp.dir, ['--host-id', 'self']);
    procs.push(agentA);
    await waitFor(() => a.logs().some((l) => l['msg'] === 'notification failed; will retry'), 'a failed first attempt', 30_000);
    expect(a.logs().filter((l) => l['msg'] === 'alert firing')).toHaveLength(1);
    await stopProc(agentA);
    await stopProc(a);

    receiver = await startWebhook({ kind: 'ok' }, port);
    const restartedAt = Date.now();
    const b = await startCollector(tmp.dir, ['--rules', rules]);
    procs.push(b);
    procs.push(startAgent(b, tmp.dir, ['--host-id', 'self']));
    await waitFor(() => receiver!.received.length >= 1, 'the queued notification after the restart', 30_000);
    // Past grace and `for`, with the agent reporting: still one notification, still one firing.
    await waitFor(() => b.logs().filter((l) => l['msg'] === 'host back after a silence: grace period starts' || l['msg'] === 'agent connected').length >= 1, 'the agent to reconnect');
    // Every sample past grace (1 s) and `for` (1 s) after the restart judged.
    await waitForSampleTime(b.db, 'self', restartedAt + 1000 + 1000 + 2 * INTERVAL_MS, 'samples past grace and `for` after the restart', 2);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.json).toMatchObject({ status: 'firing', rule: 'listening', host: 'self', endsAt: null });
    expect(b.logs().filter((l) => l['msg'] === 'alert firing')).toHaveLength(0);
    expect(query<{ n: number }>(b.db, 'SELECT count(*) AS n FROM alert_deliveries')[0]?.n).toBe(1);
    const delivered = b.logs().find((l) => l['msg'] === 'notification delivered');
    expect(delivered).toMatchObject({ notifier: 'later' });
    expect(Number(delivered!['attempts'])).toBeGreaterThanOrEqual(2); // the failed attempt(s) before the restart count
    const open = JSON.parse(cli(['alerts', '--json', '--url', b.url]).stdout) as Payload[];
    expect(open).toMatchObject([{ status: 'firing', rule: 'listening' }]);
  });
});
