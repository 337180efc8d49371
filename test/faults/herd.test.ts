/**
 * R9: the collector restarted under 500 simulated agents (plus real ones). After a kill -9 and
 * a 3 s outage, the reconnects are spread by full jitter (peak accepted connections per second
 * well under the fleet size), nobody gives up, and all are back within the backoff cap plus
 * jitter. Collector memory stays under its ceiling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canNetns, removeAllNetns } from '../helpers/netns.js';
import { killAll, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { addLeaf, makeHub, simStatus, startNsAgent, startNsCollector, startSimulator } from '../helpers/topology.js';
import type { NsCollector } from '../helpers/topology.js';
import { checkAcked, integrity, memKb, pct, report, seqHoles } from '../helpers/checker.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: fault tests cannot be skipped there');

const SESSIONS = 500;
const MAX_BACKOFF_MS = 10_000;
const COLLECTOR_CEILING_KB = 400 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!root)('R9 thundering herd after a collector restart', () => {
  const tmp = tempDir('herd');
  let hub = '';
  let collector: NsCollector;
  const agents: { host: string; p: Proc }[] = [];
  const sims: ReturnType<typeof startSimulator>[] = [];

  beforeAll(async () => {
    hub = makeHub();
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '2s']);
    for (let i = 1; i <= 2; i++) {
      const host = `herd-real-${i}`;
      agents.push({ host, p: startNsAgent(addLeaf(hub, i).ns, tmp.dir, host, ['--interval', '1', '--reconnect-min', '0.5', '--reconnect-max', String(MAX_BACKOFF_MS / 1000)]) });
    }
    // Two simulator processes in two namespaces, 250 sessions each.
    for (const [i, tag] of [
      [10, 'herd-a'],
      [11, 'herd-b'],
    ] as const) {
      sims.push(
        startSimulator(addLeaf(hub, i).ns, tmp.dir, tag, SESSIONS / 2, ['--interval-ms', '2000', '--reconnect-min-ms', '500', '--reconnect-max-ms', String(MAX_BACKOFF_MS), '--heartbeat-ms', '3000']),
      );
    }
    await waitFor(() => sims.every((s) => simStatus(s.statusFile)?.ready === SESSIONS / 2), 'all 500 sessions connected', 60_000);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it('spreads the reconnects, loses nobody, and stays within its memory ceiling', async () => {
    await sleep(2000);
    collector.proc.kill('SIGKILL');
    await collector.exited;
    await sleep(3000);
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '2s']);
    const upAt = collector.startedAt;
    let hwm = 0;
    await waitFor(
      () => {
        hwm = Math.max(hwm, memKb(collector.pid));
        return sims.every((s) => simStatus(s.statusFile)?.ready === SESSIONS / 2);
      },
      'all 500 sessions back',
      90_000,
      200,
    );
    const allBackMs = Date.now() - upAt;
    for (const a of agents) await waitFor(() => a.p.logs().some((l) => l['msg'] === 'connected to collector' && Number(l['time']) >= upAt), `${a.host} back`, 30_000);
    await sleep(3000);
    hwm = Math.max(hwm, memKb(collector.pid));
    for (const s of sims) await stopProc(s);
    for (const a of agents) await stopProc(a.p);
    await stopProc(collector);

    const statuses = sims.map((s) => simStatus(s.statusFile)!);
    const opens = statuses.flatMap((s) => s.opens_at ?? []).filter((t) => t >= upAt);
    const perSecond = new Map<number, number>();
    for (const t of opens) perSecond.set(Math.floor((t - upAt) / 1000), (perSecond.get(Math.floor((t - upAt) / 1000)) ?? 0) + 1);
    const peak = Math.max(...perSecond.values());
    const rec = statuses
      .flatMap((s) => s.recoveries)
      .filter((r) => r.first_ack_at >= upAt)
      .map((r) => r.first_ack_at - upAt);
    const figures = sims.map((s) => checkAcked(s.sideLog, collector.db));
    const holes = agents.map((a) => seqHoles(collector.db, a.host).reduce((n, b) => n + b.holes.length, 0));
    report('R9 herd', {
      sessions: SESSIONS + agents.length,
      reconnected: opens.length,
      peak_accepted_per_s: peak,
      per_second: Object.fromEntries([...perSecond].sort((a, b) => a[0] - b[0])),
      first_ack_after_restart_ms: { p50: pct(rec, 50), p99: pct(rec, 99), max: Math.max(...rec) },
      all_back_ms: allBackMs,
      max_attempts: Math.max(...statuses.map((s) => s.maxAttempts)),
      collector_hwm_kb: hwm,
      lost_acked: figures.reduce((n, f) => n + f.lostAcked, 0),
      dups: figures.reduce((n, f) => n + f.dups, 0),
      real_agent_holes: holes,
      integrity: integrity(collector.db),
    });
    expect(new Set(statuses.flatMap((s) => s.recoveries.filter((r) => r.first_ack_at >= upAt).map((r) => r.host))).size).toBe(SESSIONS);
    expect(peak).toBeLessThan(SESSIONS * 0.6);
    expect(allBackMs).toBeLessThan(MAX_BACKOFF_MS * 2 + 15_000);
    expect(hwm).toBeLessThan(COLLECTOR_CEILING_KB);
    for (const f of figures) {
      expect(f.lostAcked).toBe(0);
      expect(f.dups).toBe(0);
    }
    expect(holes).toEqual([0, 0]);
    expect(integrity(collector.db)).toBe('ok');
  });
});
