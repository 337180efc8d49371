/**
 * The product's central promise on the real kernel: in network namespaces holding a known mix of
 * sockets, tcpfleet's counts equal `ss`'s, per state, per family and for the `ss -s` TCP line,
 * from `tcpfleet-agent --once --json` and through a real collector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TCP_STATES, addStates, emptyStates } from '@tcpfleet/common';
import type { Snapshot, SsSummary, StateCounts } from '@tcpfleet/common';
import { addNetns, canNetns, nsExec, removeAllNetns, startConns } from '../helpers/netns.js';
import type { ConnsReady } from '../helpers/netns.js';
import { AGENT_BIN, agentOnce, cli, killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { parseSsSummary, ssStates, ssSummary } from '../helpers/ss.js';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';

const root = canNetns();
if (!root && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2: live-kernel tests cannot be skipped there');

interface Ns {
  name: string;
  ready: ConnsReady;
  ss: StateCounts;
  ss4: StateCounts;
  ss6: StateCounts;
}

describe.skipIf(!root)('live kernel: counts equal ss', () => {
  const nss: Ns[] = [];
  const tmp = tempDir('live');

  beforeAll(async () => {
    const mixes = [
      { listen: 4, estab: 5, estab6: 3, timewait: 4, closewait: 2 },
      { listen: 2, estab: 7, estab6: 0, timewait: 1, closewait: 3 },
      { listen: 6, estab: 0, estab6: 9, timewait: 0, closewait: 1 },
    ];
    for (const [i, mix] of mixes.entries()) {
      const name = addNetns(`live${i}`);
      const { ready } = await startConns(name, mix);
      nss.push({ name, ready, ss: ssStates(name), ss4: ssStates(name, '-4'), ss6: ssStates(name, '-6') });
    }
  });

  afterAll(() => {
    killAll();
    removeAllNetns();
    tmp.cleanup();
  });

  it('made the mix it was asked for (sanity of the fixture itself)', () => {
    const a = nss[0]!;
    expect(a.ss).toMatchObject({ established: 16, listen: 4, time_wait: 4, close_wait: 2, fin_wait2: 2 });
    expect(nss[2]!.ss6.established).toBe(18);
  });

  it('--once --json inside the namespace equals ss -tan state X, per state, for IPv4 and IPv6', () => {
    for (const ns of nss) {
      const snap = JSON.parse(nsExec(ns.name, process.execPath, [AGENT_BIN, '--once', '--json'])) as Snapshot;
      expect(snap.states).toEqual(ns.ss);
      expect(snap.ipv4).toEqual(ns.ss4);
      expect(snap.ipv6).toEqual(ns.ss6);
      expect(snap.collect.skipped).toBe(0);
      expect(snap.collect.errors).toEqual([]);
    }
  });

  it('--procfs /proc/PID observes the namespace of process PID', () => {
    for (const ns of nss) {
      const r = agentOnce(['--once', '--json', '--procfs', `/proc/${ns.ready.pid}`]);
      expect(r.code, r.stderr).toBe(0);
      const snap = JSON.parse(r.stdout) as Snapshot;
      expect(snap.states).toEqual(ns.ss);
    }
  });

  it('--once --json equals the TCP line of ss -s, read from the same kernel files', () => {
    // iproute2's ss reads its files under $PROC_ROOT (generic_proc_open in ss.c). Freezing one
    // namespace's files and pointing both ss and the agent at the copy makes them read identical
    // bytes, so the comparison is exact whatever else the machine does meanwhile.
    for (const ns of nss) {
      const frozen = `${tmp.dir}/frozen-${ns.name}`;
      mkdirSync(`${frozen}/net`, { recursive: true });
      for (const f of ['tcp', 'tcp6', 'sockstat', 'sockstat6', 'snmp', 'netstat']) copyFileSync(`/proc/${ns.ready.pid}/net/${f}`, `${frozen}/net/${f}`);
      const theirs = parseSsSummary(execFileSync('ss', ['-s'], { encoding: 'utf8', env: { ...process.env, PROC_ROOT: frozen } }));
      const r = agentOnce(['--once', '--json', '--procfs', frozen]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Snapshot).summary).toEqual(theirs);
    }
  });

  it('--once --json equals the TCP line of live ss -s', async () => {
    // alloc and orphan are kernel-wide, so other processes move them between two reads; bounded
    // attempts look for a moment when nothing moved. If the machine is never quiet for that
    // long, the kernel-wide numbers must at least lie between ss's before and after.
    for (const ns of nss) {
      let last: { ours: SsSummary; before: SsSummary; after: SsSummary } | null = null;
      let equal = false;
      for (let attempt = 0; attempt < 25 && !equal; attempt++) {
        const before = ssSummary(ns.name);
        const ours = (JSON.parse(nsExec(ns.name, process.execPath, [AGENT_BIN, '--once', '--json'])) as Snapshot).summary;
        const after = ssSummary(ns.name);
        last = { ours, before, after };
        equal = JSON.stringify(ours) === JSON.stringify(before) || JSON.stringify(ours) === JSON.stringify(after);
        if (!equal) await new Promise((r) => setTimeout(r, 100));
      }
      if (last === null) throw new Error('no attempt ran');
      if (!equal) {
        for (const k of ['total', 'closed', 'orphaned'] as const) {
          expect(last.ours[k]).toBeGreaterThanOrEqual(Math.min(last.before[k], last.after[k]));
          expect(last.ours[k]).toBeLessThanOrEqual(Math.max(last.before[k], last.after[k]));
        }
      }
      // The per-namespace parts never move here: CurrEstab counts ESTABLISHED + CLOSE_WAIT on this kernel.
      expect(last.ours.estab).toBe(ns.ss.established + ns.ss.close_wait);
      expect(last.ours.estab).toBe(last.after.estab);
      expect(last.ours.timewait).toBe(ns.ss.time_wait);
      expect(last.ours.timewait).toBe(last.after.timewait);
    }
  });

  it('the text output shows the ss -s line and the state table', () => {
    const text = nsExec(nss[0]!.name, process.execPath, [AGENT_BIN, '--once']);
    expect(text).toMatch(/^TCP: {3}\d+ \(estab 18, closed -?\d+, orphaned \d+, timewait 4\)$/m);
    expect(text).toMatch(/^established\s+01\s+10\s+6\s+16$/m);
    expect(text).toMatch(/^listen\s+0A\s+3\s+1\s+4$/m);
    expect(text).toContain('active connection openings');
  });

  it('through a real collector, hosts --json and total --json equal the per-namespace figures and their sums', async () => {
    const col = await startCollector(tmp.dir);
    const agents = nss.map((ns, i) => startAgent(col, tmp.dir, ['--procfs', `/proc/${ns.ready.pid}`, '--host-id', `ns-${i}`, '--label', `ns=${i}`]));
    try {
      await waitFor(() => {
        const r = cli(['hosts', '--json', '--url', col.url]);
        return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === nss.length;
      }, 'every agent to report');
      const hosts = JSON.parse(cli(['hosts', '--json', '--url', col.url]).stdout) as (Snapshot & { stale: boolean })[];
      expect(hosts.map((h) => h.host)).toEqual(['ns-0', 'ns-1', 'ns-2']);
      for (const [i, h] of hosts.entries()) {
        expect(h.states).toEqual(nss[i]!.ss);
        expect(h.ipv4).toEqual(nss[i]!.ss4);
        expect(h.ipv6).toEqual(nss[i]!.ss6);
        expect(h.stale).toBe(false);
        expect(h.labels).toEqual({ ns: String(i) });
        expect(h.summary.estab).toBe(nss[i]!.ss.established + nss[i]!.ss.close_wait);
      }
      const total = JSON.parse(cli(['total', '--json', '--url', col.url]).stdout) as { hosts: number; stale: number; states: StateCounts; summary: SsSummary };
      const want = nss.reduce((acc, ns) => addStates(acc, ns.ss), emptyStates());
      expect(total.hosts).toBe(3);
      expect(total.stale).toBe(0);
      expect(total.states).toEqual(want);
      expect(total.summary.estab).toBe(want.established + want.close_wait);
      expect(total.summary.timewait).toBe(want.time_wait);
      const est = cli(['total', '--state', 'established', '--url', col.url]);
      expect(est.stdout).toContain(`established ${want.established}`);
      for (const s of TCP_STATES) expect(typeof total.states[s]).toBe('number');
      // The agents sent binary (bin1) batch frames, as they do to a collector that offers them.
      const health = (await (await fetch(`${col.url}/healthz`)).json()) as { batch_frames: { json: number; bin1: number } };
      expect(health.batch_frames.json).toBe(0);
      expect(health.batch_frames.bin1).toBeGreaterThanOrEqual(3);
    } finally {
      for (const a of agents) await stopProc(a);
      await stopProc(col);
    }
  });
});
