/**
 * R23: spike alerts around a partition and the replay that follows. Two agents lose their link
 * to the collector for 8 s; meanwhile one of them sees a real, lasting burst of connections. When
 * the link returns, both replay their backlog (sample times in the past) and reconnect at once.
 * Alert rules run on sample time with a grace period after a reconnect: the reconnect burst and
 * the replayed backlog raise no false spike on the quiet host, and the real spike is still
 * detected on the other, once, with its port as evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { killAll, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import type { Proc } from '../helpers/procs.js';
import { addLeaf, makeHub, setLink, startNsAgent, startNsCollector } from '../helpers/topology.js';
import type { Leaf, NsCollector } from '../helpers/topology.js';
import { integrity, query, report, seqHoles } from '../helpers/checker.js';
import { waitForSampleTime } from '../helpers/progress.js';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: fault tests cannot be skipped there');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const BURST_PORT = 18600;
const BURST_CONNS = 30;
const PARTITION_MS = 8000;

interface AlertRow {
  rule: string;
  host: string | null;
  status: string;
  starts_at: number | null;
  value: number | null;
  baseline: number | null;
  evidence: string | null;
}

describe.skipIf(!root)('R23 spike alerts during reconnect and replay', () => {
  const tmp = tempDir('replay-alerts');
  let hub = '';
  let collector: NsCollector;
  const leaves: Leaf[] = [];
  const agents: Proc[] = [];
  const alerts = (): AlertRow[] => query<AlertRow>(collector.db, 'SELECT rule, host, status, starts_at, value, baseline, evidence FROM alerts ORDER BY id');
  const maxSeq = (host: string): number => query<{ m: number | null }>(collector.db, 'SELECT max(seq) AS m FROM snapshots s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?', host)[0]?.m ?? 0;

  beforeAll(async () => {
    hub = makeHub();
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(
      rules,
      `rules:
  - { name: established-spike, kind: spike, metric: states.established, window: 60s, factor: 3, min_delta: 20, for: 1s, grace: 2s, repeat: 1h, severity: warning }
`,
    );
    collector = await startNsCollector(hub, tmp.dir, ['--heartbeat', '1s', '--rules', rules]);
    for (const i of [1, 2]) {
      const leaf = addLeaf(hub, i);
      leaves.push(leaf);
      await startConns(leaf.ns, { listen: 1, estab: 3 }); // 6 ESTABLISHED at rest
      agents.push(startNsAgent(leaf.ns, tmp.dir, `replay-${i}`, ['--interval', '0.2', '--reconnect-min', '0.2', '--reconnect-max', '1']));
    }
    await waitFor(() => maxSeq('replay-1') >= 30 && maxSeq('replay-2') >= 30, 'a baseline of 30 samples per host', 30_000);
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it('no false spike from the reconnect or the replayed backlog; the real spike behind the partition fires once', async () => {
    expect(alerts()).toEqual([]);
    for (const l of leaves) setLink(hub, l, false);
    const cutAt = Date.now();
    await sleep(PARTITION_MS / 2);
    const burst = await startConns(leaves[1]!.ns, { listen: 1, estab: BURST_CONNS, port: BURST_PORT });
    const burstAt = Date.now();
    await sleep(PARTITION_MS / 2);
    const before = leaves.map((_, i) => maxSeq(`replay-${i + 1}`));
    for (const l of leaves) setLink(hub, l, true);
    const healedAt = Date.now();
    // The backlog arrives without a hole, and live data follows it.
    await waitFor(
      () => [1, 2].every((i) => maxSeq(`replay-${i}`) >= (before[i - 1] ?? 0) + PARTITION_MS / 200 + 5 && seqHoles(collector.db, `replay-${i}`).every((x) => x.holes.length === 0)),
      'both backlogs replayed without holes',
      60_000,
    );
    await waitFor(() => alerts().some((a) => a.host === 'replay-2' && a.status === 'firing'), 'the real spike to fire', 30_000);
    const firedAt = Date.now();
    // Another grace (2 s) + for (1 s) of live data judged on both hosts, to give a false positive its chance.
    for (const host of ['replay-1', 'replay-2']) await waitForSampleTime(collector.db, host, firedAt + 2000 + 1000 + 2 * 200, `${host}: live samples past grace and for`, 2);
    const all = alerts();
    const quiet = all.filter((a) => a.host === 'replay-1');
    const busy = all.filter((a) => a.host === 'replay-2');
    const evidence = JSON.parse(busy[0]?.evidence ?? 'null') as { inbound: { port: number; states: { established: number } }[] } | null;
    burst.proc.kill('SIGTERM');
    for (const a of agents) await stopProc(a);
    await stopProc(collector);
    report('R23 spike alerts around a replay', {
      partition_ms: PARTITION_MS,
      partitioned_since_ms: healedAt - cutAt,
      false_positives: quiet.length,
      true_spikes_fired: busy.filter((a) => a.status === 'firing').length,
      spike_sample_delay_ms: (busy[0]?.starts_at ?? 0) - burstAt,
      heal_to_firing_ms: firedAt - healedAt,
      value: busy[0]?.value,
      baseline: busy[0]?.baseline,
      integrity: integrity(collector.db),
    });
    expect(quiet).toEqual([]);
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({ rule: 'established-spike', status: 'firing' });
    expect(busy[0]?.value).toBeGreaterThanOrEqual(6 + 2 * BURST_CONNS);
    expect(evidence?.inbound.find((e) => e.port === BURST_PORT)?.states.established).toBe(BURST_CONNS);
    expect(integrity(collector.db)).toBe('ok');
  });
});
