/**
 * R6: the acknowledgement is lost after the commit. With fault injection dropAckEvery 7 (the
 * test-only collector entry, test/helpers/fault-collector.mjs) the collector commits every 7th batch and then cuts the connection instead of acknowledging it.
 * The senders resend; storage keeps one copy (the resends show up as duplicates in the
 * collector's per-session counts), and nothing acknowledged is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canNetns, removeAllNetns } from '../helpers/netns.js';
import { killAll, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { addLeaf, makeHub, simStatus, startNsAgent, startNsCollector, startSimulator } from '../helpers/topology.js';
import type { NsCollector } from '../helpers/topology.js';
import { checkAcked, integrity, report, seqHoles } from '../helpers/checker.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: fault tests cannot be skipped there');

describe.skipIf(!root)('R6 acknowledgement lost after commit', () => {
  const tmp = tempDir('lostack');
  let collector: NsCollector;
  const agents: { host: string; p: Proc }[] = [];
  let sim: ReturnType<typeof startSimulator>;

  beforeAll(async () => {
    const hub = makeHub();
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '1s'], { dropAckEvery: 7 });
    for (let i = 1; i <= 2; i++) {
      const host = `lostack-${i}`;
      agents.push({ host, p: startNsAgent(addLeaf(hub, i).ns, tmp.dir, host, ['--interval', '0.2', '--reconnect-min', '0.1', '--reconnect-max', '1']) });
    }
    sim = startSimulator(addLeaf(hub, 10).ns, tmp.dir, 'sim', 20, ['--interval-ms', '300', '--reconnect-min-ms', '100', '--reconnect-max-ms', '1000']);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it('resends the batch and stores it once', async () => {
    const drops = (): number => collector.logs().filter((l) => String(l['msg']).startsWith('fault injection: committed')).length;
    await waitFor(() => drops() >= 20 && (simStatus(sim.statusFile)?.acked ?? 0) > 500, 'twenty lost acknowledgements', 60_000);
    await waitFor(() => simStatus(sim.statusFile)?.ready === 20, 'simulated sessions back', 30_000);
    await stopProc(sim);
    for (const a of agents) await stopProc(a.p);
    await stopProc(collector);
    const sessions = collector.logs().filter((l) => l['msg'] === 'agent disconnected');
    const resentStoredOnce = sessions.reduce((n, l) => n + Number(l['duplicates'] ?? 0), 0);
    const f = checkAcked(sim.sideLog, collector.db);
    const holes = agents.map((a) => seqHoles(collector.db, a.host).reduce((n, b) => n + b.holes.length, 0));
    report('R6 lost ack', {
      lost_acks: drops(),
      resent_snapshots_deduplicated: resentStoredOnce,
      acked: f.acked,
      stored: f.stored,
      lost_acked: f.lostAcked,
      dups: f.dups,
      real_agent_holes: holes,
      integrity: integrity(collector.db),
    });
    expect(f.lostAcked).toBe(0);
    expect(f.dups).toBe(0);
    expect(holes).toEqual([0, 0]);
    expect(resentStoredOnce).toBeGreaterThan(0);
    expect(integrity(collector.db)).toBe('ok');
  });
});
