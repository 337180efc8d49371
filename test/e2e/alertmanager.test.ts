/**
 * The Alertmanager notifier against a real Prometheus Alertmanager on 127.0.0.1 and a real
 * collector, fed by a real WebSocket client speaking the agent protocol (host web-1 with labels):
 * a spike of ESTABLISHED fires; Alertmanager, down when it fired, gets it once it is up (the
 * outbox kept it); it shows the labels (alertname, host, severity, the host's labels) and the
 * annotations (summary, value, baseline, top ports and peers); the collector re-posts it while
 * firing (Alertmanager's updatedAt moves on, endsAt stays ahead); once the spike ends it is
 * resolved and Alertmanager no longer lists it as active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { cli, killAll, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector } from '../helpers/procs.js';
import { freePort } from '../helpers/webhook.js';
import { query } from '../helpers/checker.js';
import { haveAlertmanager, startAlertmanager } from '../helpers/alertmanager.js';
import type { AmAlert, Alertmanager } from '../helpers/alertmanager.js';

const have = haveAlertmanager();
if (!have && process.env['CI'] === 'true') throw new Error('CI must have prometheus-alertmanager installed (.ci/run installs it)');

const INTERVAL_MS = 500;
const STATES = ['established', 'syn_sent', 'syn_recv', 'fin_wait1', 'fin_wait2', 'time_wait', 'close', 'close_wait', 'last_ack', 'listen', 'closing', 'new_syn_recv'];
const zero = (): Record<string, number> => Object.fromEntries(STATES.map((s) => [s, 0]));

/** A client speaking the agent protocol: one snapshot every INTERVAL_MS with `established` as set, each acknowledged before the next. */
function feeder(col: Collector, host: string, labels: Record<string, string>) {
  const boot = '00000000-0000-4000-8000-0000000a1e27';
  const ws = new WebSocket(col.wsUrl, { headers: { Authorization: `Bearer ${col.token}` }, perMessageDeflate: false });
  const state = { established: 10, stopped: false, sent: 0 };
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  const send = (): void => {
    if (state.stopped) return;
    seq++;
    const est = state.established;
    const snap = {
      host,
      ts: Date.now(),
      seq,
      boot,
      interval_ms: INTERVAL_MS,
      labels,
      states: { ...zero(), established: est, listen: 1 },
      ipv4: { ...zero(), established: est, listen: 1 },
      ipv6: zero(),
      summary: { total: est, estab: est, closed: 0, orphaned: 0, timewait: 0 },
      sockstat: { sockets_used: 0, tcp_inuse: 0, tcp_orphan: 0, tcp_tw: 0, tcp_alloc: 0, tcp_mem: 0, tcp6_inuse: 0 },
      snmp: {},
      netstat: {},
      collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
      breakdown: {
        inbound: [{ port: 8443, states: { ...zero(), established: est - 4, listen: 1 } }],
        outbound: [{ addr: '10.9.8.7', port: 5432, states: { ...zero(), established: 4 } }],
        other: { inbound: zero(), outbound: zero() },
      },
    };
    ws.send(JSON.stringify({ type: 'batch', id: seq, snapshots: [snap] }));
  };
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { type: string };
    if (msg.type === 'welcome' || msg.type === 'ack') {
      if (msg.type === 'ack') state.sent++;
      timer = setTimeout(send, msg.type === 'welcome' ? 0 : INTERVAL_MS);
    }
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, host, boot, agent: 'test', interval_ms: INTERVAL_MS, labels })));
  ws.on('error', () => {});
  return {
    state,
    close: (): void => {
      state.stopped = true;
      clearTimeout(timer);
      ws.terminate();
    },
  };
}

interface Payload {
  status: string;
  rule: string;
  host?: string;
  startsAt: number;
}

describe.skipIf(!have)('alerting: a real Alertmanager receives, keeps and resolves a spike alert', () => {
  const tmp = tempDir('alertmanager-e2e');
  let col: Collector;
  let am: Alertmanager | null = null;
  let amPort = 0;
  let feed: ReturnType<typeof feeder> | null = null;

  beforeAll(async () => {
    amPort = await freePort(); // Alertmanager starts only after the alert fired
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(
      rules,
      `notifiers:
  - { name: am, type: alertmanager, url: "http://127.0.0.1:${amPort}", timeout: 2s, backoff: 200ms, resend: 2s }
rules:
  - name: established-spike
    kind: spike
    metric: states.established
    window: 30s
    factor: 3
    min_delta: 40
    for: 1s
    grace: 1s
    severity: critical
    description: connections to web-1 surged
    notify: [am]
`,
    );
    col = await startCollector(tmp.dir, ['--rules', rules]);
    feed = feeder(col, 'web-1', { env: 'test', role: 'web' });
    // A baseline of 8 samples at 10 ESTABLISHED.
    await waitFor(() => (feed?.state.sent ?? 0) >= 8, 'a baseline of 8 samples', 30_000);
  });

  afterAll(async () => {
    feed?.close();
    if (col !== undefined) await stopProc(col);
    await am?.stop();
    killAll();
    tmp.cleanup();
  });

  const logs = (msg: string): Record<string, unknown>[] => col.logs().filter((l) => l['msg'] === msg);
  const ours = async (): Promise<AmAlert[]> => (am === null ? [] : (await am.alerts()).filter((a) => a.labels['alertname'] === 'established-spike'));

  it('fires while Alertmanager is down, reaches it once it is up, with the labels and annotations', async () => {
    feed!.state.established = 200;
    await waitFor(() => logs('alert firing').length === 1, 'the alert to fire', 30_000);
    await waitFor(() => logs('notification failed; will retry').some((l) => l['notifier'] === 'am'), 'a failed post to the Alertmanager that is not there yet', 30_000);

    am = await startAlertmanager(amPort);
    await waitFor(async () => (await ours()).length === 1, 'Alertmanager to show the alert', 30_000);
    const [a] = await ours();
    const fired = (JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[]).find((p) => p.rule === 'established-spike')!;
    expect(a!.labels).toEqual({ alertname: 'established-spike', host: 'web-1', severity: 'critical', env: 'test', role: 'web' });
    expect(a!.annotations).toEqual({
      summary: 'established-spike on web-1: states.established = 200 (baseline 10)',
      value: '200',
      baseline: '10',
      top_ports: ':8443 197',
      top_peers: '10.9.8.7:5432 4',
      description: 'connections to web-1 surged',
    });
    expect(a!.status.state).toBe('active');
    expect(Date.parse(a!.startsAt)).toBe(fired.startsAt);
    // Firing posts carry no endsAt: Alertmanager keeps the alert for its resolve_timeout (5m) after each.
    expect(Date.parse(a!.endsAt)).toBeGreaterThan(Date.now() + 4 * 60_000);
  });

  it('is re-posted while firing (every `resend`), and older queued posts are superseded, never sent after a newer one', async () => {
    const first = (await ours())[0]!;
    await waitFor(async () => (await ours()).some((a) => Date.parse(a.updatedAt) > Date.parse(first.updatedAt)), 'a re-post to update the alert', 30_000);
    const again = (await ours())[0]!;
    expect(again.startsAt).toBe(first.startsAt);
    expect(Date.parse(again.endsAt)).toBeGreaterThanOrEqual(Date.parse(first.endsAt));
    const rows = query<{ state: string; last_error: string | null }>(col.db, "SELECT state, last_error FROM alert_deliveries WHERE notifier = 'am' ORDER BY id");
    expect(rows.filter((r) => r.state === 'sent').length).toBeGreaterThanOrEqual(2);
    // Posts queued while Alertmanager was down were replaced by newer ones, not delivered late.
    for (const r of rows.filter((x) => x.state === 'failed')) expect(r.last_error).toBe('superseded by a newer post');
    // The log says nothing for re-posts: one `alert firing` line.
    expect(logs('alert firing')).toHaveLength(1);
  });

  it('resolves when the spike ends: Alertmanager gets endsAt and no longer lists it as active', async () => {
    feed!.state.established = 10;
    await waitFor(() => logs('alert resolved').length === 1, 'the alert to resolve', 30_000);
    await waitFor(async () => (await ours()).length === 0, 'Alertmanager to drop the resolved alert from its active alerts', 30_000);
    // The outbox marks the post sent once Alertmanager's answer is back, which can be just after Alertmanager shows the change.
    const lastPost = (): { body: string; state: string } =>
      query<{ body: string; state: string }>(col.db, "SELECT body, state FROM alert_deliveries WHERE notifier = 'am' ORDER BY id DESC LIMIT 1")[0]!;
    await waitFor(() => lastPost().state === 'sent', 'the resolved post to be marked sent', 10_000);
    const last = lastPost();
    expect(last.state).toBe('sent');
    const [posted] = JSON.parse(last.body) as { labels: Record<string, string>; endsAt?: string; startsAt: string }[];
    expect(posted!.labels).toMatchObject({ alertname: 'established-spike', host: 'web-1' });
    expect(Date.parse(posted!.endsAt ?? '')).toBeLessThanOrEqual(Date.now());
    // Nor in its alert groups (what its notifications are built from): both hold only alerts not yet ended.
    const groups = (await (await fetch(`${am!.url}/api/v2/alerts/groups`)).json()) as { alerts: AmAlert[] }[];
    expect(groups.flatMap((g) => g.alerts).filter((x) => x.labels['alertname'] === 'established-spike')).toEqual([]);
  });
});
