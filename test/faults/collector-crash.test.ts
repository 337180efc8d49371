/**
 * R2: kill -9 of the collector at random moments under load, repeated. Real agents in their own
 * namespaces and a simulator with 100 sessions push snapshots to a collector in the hub
 * namespace; every commit sleeps 20 ms between its inserts and its COMMIT (fault injection through
 * test/helpers/fault-collector.mjs), so kills land inside commits too. Afterwards: every acknowledged snapshot is in the database, no
 * duplicates, no holes in any real agent's seqs, integrity_check ok, everyone reconnected.
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

const SESSIONS = 100;
const CYCLES = 8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!root)('R2 collector killed with SIGKILL under load', () => {
  const tmp = tempDir('crash');
  let hub = '';
  let collector: NsCollector;
  const agents: { host: string; p: Proc }[] = [];
  let sim: ReturnType<typeof startSimulator>;
  const start = (): Promise<NsCollector> => startNsCollector(hub, tmp.dir, ['--heartbeat', '1s'], { commitDelayMs: 20 });

  beforeAll(async () => {
    hub = makeHub();
    collector = await start();
    expect(collector.logs().find((l) => String(l['msg']).startsWith('fault injection active'))?.['faults']).toEqual({ commitDelayMs: 20 });
    for (let i = 1; i <= 3; i++) {
      const leaf = addLeaf(hub, i);
      const host = `real-${i}`;
      agents.push({ host, p: startNsAgent(leaf.ns, tmp.dir, host, ['--interval', '0.2', '--reconnect-min', '0.2', '--reconnect-max', '2']) });
    }
    const simLeaf = addLeaf(hub, 10);
    sim = startSimulator(simLeaf.ns, tmp.dir, 'crash', SESSIONS, ['--interval-ms', '500', '--reconnect-min-ms', '200', '--reconnect-max-ms', '3000']);
    await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > SESSIONS, 'simulator acked snapshots', 30_000);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it(`loses no acknowledged snapshot over ${CYCLES} kills, stores none twice, and everyone reconnects`, async () => {
    const ups: number[] = [];
    let collectorHwm = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await sleep(1000 + Math.random() * 2000);
      collectorHwm = Math.max(collectorHwm, memKb(collector.pid));
      const before = simStatus(sim.statusFile)?.acked ?? 0;
      collector.proc.kill('SIGKILL');
      await collector.exited;
      await sleep(500 + Math.random() * 1500);
      collector = await start();
      ups.push(collector.startedAt);
      await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > before, `acks after restart ${cycle + 1}`, 30_000);
    }
    const lastUp = ups[ups.length - 1] ?? 0;
    await waitFor(
      () => {
        const st = simStatus(sim.statusFile);
        return st !== null && st.ready === SESSIONS && st.queued <= SESSIONS * 2;
      },
      'all simulated sessions back and drained',
      60_000,
    );
    for (const a of agents) {
      await waitFor(() => a.p.logs().some((l) => l['msg'] === 'connected to collector' && Number(l['time']) >= lastUp), `${a.host} reconnected`, 30_000);
    }

    await stopProc(sim);
    for (const a of agents) await stopProc(a.p);
    await stopProc(collector);

    const f = checkAcked(sim.sideLog, collector.db);
    const st = simStatus(sim.statusFile);
    const rec = (st?.recoveries ?? []).map((r) => {
      const up = ups.find((u) => u >= r.down_at) ?? r.down_at;
      return Math.max(0, r.first_ack_at - up);
    });
    const realHoles = agents.map((a) => ({ host: a.host, boots: seqHoles(collector.db, a.host) }));
    const stopped = agents.map((a) => a.p.logs().find((l) => l['msg'] === 'agent stopped') ?? {});
    const ok = integrity(collector.db);
    report('R2 collector kill -9', {
      kills: CYCLES,
      sessions: SESSIONS + agents.length,
      generated: st?.generated,
      acked: f.acked,
      stored: f.stored,
      lost_acked: f.lostAcked,
      dups: f.dups,
      real_agent_holes: realHoles.map((h) => h.boots.reduce((a, b) => a + b.holes.length, 0)),
      real_agent_dropped: stopped.map((s) => s['dropped']),
      reconnect_ms: { n: rec.length, p50: pct(rec, 50), p99: pct(rec, 99), max: Math.max(...rec) },
      collector_hwm_kb: collectorHwm,
      simulator_max_attempts: st?.maxAttempts,
      integrity: ok,
    });
    expect(f.missing).toEqual([]);
    expect(f.lostAcked).toBe(0);
    expect(f.dups).toBe(0);
    expect(f.acked).toBeGreaterThan(SESSIONS * CYCLES);
    expect(ok).toBe('ok');
    for (const h of realHoles) {
      expect(h.boots.length, h.host).toBe(1);
      expect(h.boots[0]?.holes, h.host).toEqual([]);
      expect(h.boots[0]?.max ?? 0, h.host).toBeGreaterThan(20);
    }
    for (const s of stopped) expect(s['dropped']).toBe(0);
    // Every simulated session came back at least once (two kills in a row can share one recovery).
    expect(new Set((st?.recoveries ?? []).map((r) => r.host)).size).toBe(SESSIONS);
  });
});
