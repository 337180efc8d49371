/**
 * R21 and R19: graceful stops. (a) SIGTERM to the collector under load: it finishes and
 * acknowledges what is in flight, closes every session with 1001, and exits; agents come back
 * when it restarts; nothing acknowledged is lost. (b) An agent restarted with SIGTERM five times
 * in a row on the same disk spool: a new boot id each time, and every snapshot each boot took
 * (its `lastSeq` at stop) is stored, without a hole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { canNetns, removeAllNetns } from '../helpers/netns.js';
import { killAll, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { addLeaf, makeHub, simStatus, startNsAgent, startNsCollector, startSimulator } from '../helpers/topology.js';
import type { Leaf, NsCollector } from '../helpers/topology.js';
import { checkAcked, integrity, query, report, seqHoles } from '../helpers/checker.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: fault tests cannot be skipped there');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!root)('R21/R19 graceful stops', () => {
  const tmp = tempDir('restart');
  let hub = '';
  let collector: NsCollector;
  let leaf: Leaf;
  const spool = join(tmp.dir, 'spool');
  const args = ['--interval', '0.2', '--reconnect-min', '0.2', '--reconnect-max', '1', '--spool-dir', spool];
  let agent: Proc;
  let sim: ReturnType<typeof startSimulator>;
  const stopped: Proc[] = [];

  beforeAll(async () => {
    hub = makeHub();
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '1s']);
    leaf = addLeaf(hub, 1);
    agent = startNsAgent(leaf.ns, tmp.dir, 'restart-real', args);
    sim = startSimulator(addLeaf(hub, 10).ns, tmp.dir, 'sim', 50, ['--interval-ms', '200', '--reconnect-min-ms', '200', '--reconnect-max-ms', '2000']);
    await waitFor(() => (simStatus(sim.statusFile)?.acked ?? 0) > 300, 'simulator acked', 30_000);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it('(a) SIGTERM to the collector under load: in-flight acknowledged, 1001 to every session, nothing lost', async () => {
    const t0 = Date.now();
    collector.proc.kill('SIGTERM');
    const code = await collector.exited;
    const shutdownMs = Date.now() - t0;
    const goingAway = agent.logs().some((l) => l['msg'] === 'disconnected from collector' && l['code'] === 1001 && Number(l['time']) >= t0);
    await sleep(1000);
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '1s']);
    const upAt = collector.startedAt;
    await waitFor(() => simStatus(sim.statusFile)?.ready === 50 && agent.logs().some((l) => l['msg'] === 'connected to collector' && Number(l['time']) >= upAt), 'everyone back', 30_000);
    report('R21 graceful collector stop', { shutdown_ms: shutdownMs, exit_code: code, agent_got_1001: goingAway });
    expect(code).toBe(0);
    expect(goingAway).toBe(true);
    expect(shutdownMs).toBeLessThan(10_000);
  });

  it('(b) five quick agent restarts on one spool: new boot each time, every snapshot of every boot stored', async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(500 + Math.random() * 500);
      await stopProc(agent);
      const prev = agent;
      agent = startNsAgent(leaf.ns, tmp.dir, 'restart-real', args);
      expect(prev.logs().some((l) => l['msg'] === 'agent stopped')).toBe(true);
      stopped.push(prev);
      // A restart stops a running agent: a SIGTERM before its handlers are installed (Node still
      // loading, seconds under load) would end it with no 'agent stopped' to compare against.
      const next = agent;
      await waitFor(() => next.logs().some((l) => l['msg'] === 'agent started'), 'restarted agent running', 20_000);
    }
    await sleep(1500);
    await stopProc(agent);
    stopped.push(agent);
    const last = new Map(
      stopped.map((p) => {
        const l = p.logs().find((x) => x['msg'] === 'agent stopped') ?? {};
        return [String(l['boot']), Number(l['lastSeq'])] as const;
      }),
    );
    // What the last run left unsent is still in the spool: one more start delivers it.
    agent = startNsAgent(leaf.ns, tmp.dir, 'restart-real', args);
    await waitFor(() => [...last].every(([boot, seq]) => (seqHoles(collector.db, 'restart-real').find((b) => b.boot === boot)?.max ?? 0) >= seq), 'every boot complete', 30_000);
    await stopProc(agent);
    await stopProc(sim);
    await stopProc(collector);
    const boots = seqHoles(collector.db, 'restart-real');
    const f = checkAcked(sim.sideLog, collector.db);
    const perBoot = [...last].map(([boot, seq]) => ({ lastSeq: seq, stored: boots.find((b) => b.boot === boot)?.count ?? 0, holes: boots.find((b) => b.boot === boot)?.holes.length ?? -1 }));
    report('R19 agent restarts', { restarts: 5, boots: boots.length, per_boot: perBoot, lost_acked: f.lostAcked, dups: f.dups, integrity: integrity(collector.db) });
    expect(new Set(last.keys()).size).toBe(6);
    for (const b of perBoot) {
      expect(b.holes).toBe(0);
      expect(b.stored).toBe(b.lastSeq);
    }
    expect(query<{ n: number }>(collector.db, 'SELECT count(*) AS n FROM gaps')[0]?.n).toBe(0);
    expect(f.lostAcked).toBe(0);
    expect(f.dups).toBe(0);
    expect(integrity(collector.db)).toBe('ok');
  });
});
