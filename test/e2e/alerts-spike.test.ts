/**
 * Alerting end to end on the real kernel: a spike of ESTABLISHED connections made for real in a
 * network namespace (a burst of connections to a known port), a real agent observing it, a real
 * collector evaluating the rules, and a real HTTP server on 127.0.0.1 receiving the webhooks.
 * The spike fires within two intervals after `for` (in sample time), carries the port and the
 * peer as evidence, survives a collector restart without a lost or repeated notification, and
 * resolves once the burst ends; a quiet host with a tiny absolute change never fires.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '@tcpfleet/common';
import { addNetns, canNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { COLLECTOR_BIN, cli, killAll, startAgent, startProc, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Collector, Proc } from '../helpers/procs.js';
import { freePort, startWebhook, writeSpikeRules } from '../helpers/webhook.js';
import type { WebhookReceiver } from '../helpers/webhook.js';
import { query } from '../helpers/checker.js';
import { waitForMoreSnapshots, waitForSampleTime } from '../helpers/progress.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: alert tests with namespaces cannot be skipped there');

const INTERVAL_MS = 500;
const FOR_MS = 1000;
const BURST_PORT = 18555;
const BURST_CONNS = 40;

/** Starts `tcpfleet serve` on a given loopback port (so agents find it again after a restart). */
async function collectorAt(dir: string, port: number, rules: string): Promise<Collector> {
  const tokenFile = join(dir, 'fleet.token');
  const token = 'alerts-test-token-0123456789';
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const db = join(dir, 'tcpfleet.db');
  const p = startProc(process.execPath, [COLLECTOR_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--token-file', tokenFile, '--rules', rules]);
  await waitFor(() => {
    if (p.proc.exitCode !== null) throw new Error(`collector exited: ${p.stderr()}`);
    return p.logs().some((l) => l['msg'] === 'collector started');
  }, 'collector to listen');
  return { ...p, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, db, token };
}

interface Payload {
  status: string;
  rule: string;
  severity: string;
  host?: string;
  labels: Record<string, string>;
  metric: string;
  value: number;
  baseline?: number;
  startsAt: number;
  endsAt: number | null;
  evidence: { inbound: { port: number; states: Record<string, number> }[]; outbound: { addr: string; port: number; states: Record<string, number> }[] } | null;
}

describe.skipIf(!root)('alerting: a real spike in a namespace, a real webhook receiver', () => {
  const tmp = tempDir('alerts-spike');
  let hook: WebhookReceiver;
  let col: Collector;
  let port = 0;
  let rules = '';
  const agents: Proc[] = [];
  let busyNs = '';
  let quietNs = '';
  let burst: Awaited<ReturnType<typeof startConns>> | null = null;
  let burstAt = 0;

  const payloads = (): Payload[] => hook.received.filter((r) => r.json !== null).map((r) => r.json as unknown as Payload);
  const forHost = (h: string): Payload[] => payloads().filter((p) => p.host === h);
  // Notifications queued for a host's alerts: written with the alert's transition, before any delivery attempt.
  const queued = (h: string): number => query<{ n: number }>(col.db, 'SELECT count(*) AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.host = ?', h)[0]?.n ?? 0;

  beforeAll(async () => {
    hook = await startWebhook();
    busyNs = addNetns('busy');
    quietNs = addNetns('quiet');
    const busy = await startConns(busyNs, { listen: 1, estab: 2 }); // 4 ESTABLISHED
    const quiet = await startConns(quietNs, { listen: 1, estab: 1 }); // 2 ESTABLISHED
    rules = writeSpikeRules(tmp.dir, hook);
    port = await freePort();
    col = await collectorAt(tmp.dir, port, rules);
    agents.push(startAgent(col, tmp.dir, ['--procfs', `/proc/${busy.ready.pid}`, '--host-id', 'busy', '--label', 'env=test']));
    agents.push(startAgent(col, tmp.dir, ['--procfs', `/proc/${quiet.ready.pid}`, '--host-id', 'quiet', '--label', 'env=test']));
    // Past the grace period, with a baseline of several samples.
    await waitFor(() => {
      const r = cli(['history', 'busy', '--json', '--url', col.url]);
      const q = cli(['history', 'quiet', '--json', '--url', col.url]);
      return r.code === 0 && q.code === 0 && (JSON.parse(r.stdout) as unknown[]).length >= 8 && (JSON.parse(q.stdout) as unknown[]).length >= 8;
    }, 'a baseline of 8 samples per host');
  });

  afterAll(async () => {
    for (const a of agents) await stopProc(a);
    if (col !== undefined) await stopProc(col);
    killAll();
    removeAllNetns();
    await hook?.close();
    tmp.cleanup();
  });

  it('a quiet host with a tiny absolute change (2 -> 8 established: 4x, +6) does not fire (min_delta 40)', async () => {
    const small = await startConns(quietNs, { listen: 1, estab: 3 });
    try {
      let changedAt = 0;
      await waitFor(() => {
        const h = JSON.parse(cli(['host', 'quiet', '--json', '--url', col.url]).stdout) as Snapshot;
        changedAt = h.ts;
        return h.states.established === 8;
      }, 'the quiet host to show 8 established');
      // Every sample up to `for` plus two intervals after the change has been judged.
      await waitForSampleTime(col.db, 'quiet', changedAt + FOR_MS + 2 * INTERVAL_MS, 'quiet samples past `for` plus two intervals', 2);
      const all = JSON.parse(cli(['alerts', '--all', '--json', '--url', col.url]).stdout) as Payload[];
      expect(all.filter((a) => a.host === 'quiet')).toEqual([]);
      expect(forHost('quiet')).toEqual([]);
      expect(queued('quiet')).toBe(0);
    } finally {
      small.proc.kill('SIGTERM');
    }
  });

  it('a burst of connections to a known port fires within two intervals after `for`, with the port and peer as evidence', async () => {
    burstAt = Date.now();
    burst = await startConns(busyNs, { listen: 1, estab: BURST_CONNS, port: BURST_PORT });
    await waitFor(() => forHost('busy').some((p) => p.status === 'firing'), 'the firing webhook', 30_000);
    const firing = forHost('busy').filter((p) => p.status === 'firing');
    expect(firing).toHaveLength(1);
    const f = firing[0]!;
    expect(Object.keys(f)).toEqual(['status', 'rule', 'severity', 'host', 'labels', 'metric', 'value', 'baseline', 'startsAt', 'endsAt', 'evidence']);
    expect(f).toMatchObject({ status: 'firing', rule: 'established-spike', severity: 'warning', host: 'busy', labels: { env: 'test' }, metric: 'states.established', baseline: 4, endsAt: null });
    expect(f.value).toBe(4 + 2 * BURST_CONNS);
    // In sample time: the first snapshot showing the burst, then `for`, then at most two intervals.
    const hist = JSON.parse(cli(['history', 'busy', '--json', '--since', '5m', '--url', col.url]).stdout) as Snapshot[];
    const first = hist.find((s) => s.ts >= burstAt - 1000 && s.states.established >= 4 + 40);
    expect(first).toBeDefined();
    const lag = f.startsAt - first!.ts;
    expect(lag).toBeGreaterThanOrEqual(FOR_MS);
    expect(lag).toBeLessThanOrEqual(FOR_MS + 2 * INTERVAL_MS);
    // The evidence names the listening port (inbound side) and the peer (outbound side) behind it.
    const inb = f.evidence!.inbound[0]!;
    expect(inb.port).toBe(BURST_PORT);
    expect(inb.states['established']).toBe(BURST_CONNS);
    const out = f.evidence!.outbound[0]!;
    expect(out).toMatchObject({ addr: '127.0.0.1', port: BURST_PORT });
    expect(out.states['established']).toBe(BURST_CONNS);
    // The same object is what `tcpfleet alerts --json` shows.
    const now = JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[];
    expect(now.find((a) => a.host === 'busy')).toMatchObject({ status: 'firing', startsAt: f.startsAt, evidence: f.evidence });
    const table = cli(['alerts', '--url', col.url]);
    expect(table.stdout).toMatch(/FIRING\s+established-spike\s+warning\s+busy\s+states\.established\s+84\s+4/);
    expect(table.stdout).toContain(`port ${BURST_PORT}: ${BURST_CONNS}`);
  });

  it('a collector restart while firing neither repeats the firing notification nor drops the resolved one', async () => {
    const before = forHost('busy');
    const firing = before.find((p) => p.status === 'firing')!;
    await stopProc(col);
    const restartedAt = Date.now();
    col = await collectorAt(tmp.dir, port, rules);
    await waitFor(() => {
      const r = cli(['hosts', '--json', '--url', col.url]);
      return r.code === 0 && (JSON.parse(r.stdout) as { stale: boolean }[]).every((h) => !h.stale) && (JSON.parse(r.stdout) as unknown[]).length === 2;
    }, 'both agents to report to the restarted collector');
    // Past grace (1 s) and `for`, with the burst still on, every sample judged: the alert is still firing, from the same moment.
    await waitForSampleTime(col.db, 'busy', restartedAt + 1000 + FOR_MS + 2 * INTERVAL_MS, 'busy samples past grace and `for` after the restart', 2);
    const open = JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout) as Payload[];
    expect(open.filter((a) => a.host === 'busy')).toMatchObject([{ status: 'firing', startsAt: firing.startsAt }]);
    expect(forHost('busy')).toHaveLength(before.length);
    expect(queued('busy')).toBe(before.length);

    // The burst ends: one resolved notification.
    burst!.proc.kill('SIGTERM');
    await waitFor(() => forHost('busy').some((p) => p.status === 'resolved'), 'the resolved webhook', 30_000);
    // Four more samples judged after the resolution: none of them notifies again.
    await waitForMoreSnapshots(col.db, 'busy', 4, 'four more busy samples after the resolution');
    expect(queued('busy')).toBe(2);
    const sent = forHost('busy');
    expect(sent.map((p) => p.status)).toEqual(['firing', 'resolved']);
    const resolved = sent[1]!;
    expect(resolved.startsAt).toBe(firing.startsAt);
    expect(resolved.endsAt).toBeGreaterThan(firing.startsAt);
    expect(resolved.evidence).toEqual(firing.evidence);
    expect(resolved.value).toBeLessThan(2 * (resolved.baseline ?? 0) + 1);
    expect(JSON.parse(cli(['alerts', '--json', '--url', col.url]).stdout)).toEqual([]);
    const history = JSON.parse(cli(['alerts', '--all', '--json', '--url', col.url]).stdout) as Payload[];
    expect(history.filter((a) => a.host === 'busy')).toMatchObject([{ status: 'resolved', startsAt: firing.startsAt }]);
    expect(forHost('quiet')).toEqual([]);
  });
});
