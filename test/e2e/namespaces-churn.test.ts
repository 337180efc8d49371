/**
 * The daemon's per-namespace sampler (packages/agent/src/namespaces/sampler.ts) on the real
 * kernel, interval by interval (snapshot times passed in, 10 s apart): a namespace keeps its
 * entry when its representative process exits and another lives on (new pid); a namespace that
 * disappears is gone the next interval, a new one appears in the next; a quiet namespace keeps
 * its counts without a walk and says they are proven current; a small change leaves them stale
 * (and says so) until the budget allows a walk, a jump walks at once; a request socket that
 * expires silently is not taken for "unchanged" (TcpExt TCPTimeouts); state is bounded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { NamespaceEntry } from '@tcpfleet/common';
import { NamespaceSampler } from '../../packages/agent/src/namespaces/sampler.js';
import type { NamespacesPart } from '../../packages/agent/src/namespaces/sampler.js';
import { addNetns, canNetns, delNetns, linkNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { hasIptables, ipt } from '../helpers/iptables.js';
import { tempDir } from '../helpers/procs.js';
import { ssCounts } from '../helpers/ss.js';

const root = canNetns();
const iptables = hasIptables();
if ((!root || !iptables) && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2 and iptables: the namespace churn tests cannot be skipped there');

const procs: ChildProcess[] = [];
/** Starts `cmd` in namespace `ns`; resolves once it is in the namespace. */
async function inNs(ns: string, cmd: string, args: readonly string[]): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' });
  procs.push(p);
  for (let i = 0; i < 200; i++) {
    if (execFileSync('ip', ['netns', 'identify', String(p.pid)], { encoding: 'utf8' }).trim() === ns) return p;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${cmd} never entered ${ns}`);
}
async function conns(ns: string, mix: Parameters<typeof startConns>[1]): Promise<ChildProcess> {
  const { proc } = await startConns(ns, mix);
  procs.push(proc);
  return proc;
}
async function end(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await done;
}
const inoOf = (pid: number | undefined): number => statSync(`/proc/${pid}/ns/net`).ino;
const entry = (part: NamespacesPart, ino: number): NamespaceEntry | undefined => part.entries?.find((e) => e.netns === ino);
const must = (part: NamespacesPart, ino: number): NamespaceEntry => {
  const e = entry(part, ino);
  if (e === undefined) throw new Error(`no entry for netns ${ino}`);
  return e;
};

describe.skipIf(!root)('live kernel: the per-namespace sampler across intervals', () => {
  const tmp = tempDir('netns-churn');
  const warnings: string[] = [];
  const sampler = (budget: number, maxNamespaces = 512): NamespaceSampler =>
    new NamespaceSampler({ procfs: '/proc', maxNamespaces, kubeLogDir: tmp.dir, dockerDir: tmp.dir, budget, intervalMs: 10_000, warn: (m) => warnings.push(m) });

  afterAll(async () => {
    await Promise.all(procs.map(end));
    removeAllNetns();
    tmp.cleanup();
  });

  it('representative exits (same entry, new pid); a namespace disappears (gone next interval); a new one appears (next interval)', async () => {
    const a = addNetns('a');
    const holder = await inNs(a, 'sleep', ['600']);
    const aConns = await conns(a, { listen: 1, estab: 2, estab6: 1 });
    const b = addNetns('b');
    const bConns = await conns(b, { listen: 2, estab: 1, estab6: 1 });
    const inoA = inoOf(holder.pid);
    const inoB = inoOf(bConns.pid);
    const s = sampler(0.01);
    const T = Date.now();

    const p1 = s.sample(T, 0);
    expect(must(p1, inoA).pid).toBe(holder.pid);
    expect(must(p1, inoA).states).toEqual(ssCounts(a));
    expect(must(p1, inoB).states).toEqual(ssCounts(b));

    await end(holder);
    const p2 = s.sample(T + 10_000, 0);
    expect(must(p2, inoA).pid).toBe(aConns.pid);
    expect(must(p2, inoA).states).toEqual(ssCounts(a));
    expect(must(p2, inoA).ipv4).toEqual(ssCounts(a, '-4'));
    expect(must(p2, inoA).ipv6).toEqual(ssCounts(a, '-6'));

    await end(bConns);
    delNetns(b);
    const p3 = s.sample(T + 20_000, 0);
    expect(entry(p3, inoB)).toBeUndefined();
    expect(must(p3, inoA).states).toEqual(ssCounts(a));

    const c = addNetns('c');
    const cConns = await conns(c, { listen: 3, estab: 2, timewait: 1 });
    const inoC = inoOf(cConns.pid);
    const p4 = s.sample(T + 30_000, 0);
    const ec = must(p4, inoC);
    expect(ec.states).toEqual(ssCounts(c));
    expect(ec.collect).toMatchObject({ states_age_ms: 0, states_unchanged: true });
  });

  it('quiet: counts kept without a walk, proven current; a small change: stale and said so; a jump: walked at once', async () => {
    const q = addNetns('q');
    const first = await conns(q, { listen: 1, estab: 3, estab6: 2, closewait: 1 });
    const ino = inoOf(first.pid);
    // A budget so small only new namespaces and jumps are walked.
    const s = sampler(1e-9);
    const T = Date.now();
    s.sample(T, 0);
    const quiet = must(s.sample(T + 10_000, 0), ino);
    expect(quiet.collect).toMatchObject({ states_age_ms: 10_000, states_unchanged: true });
    // Kept counts, interval after interval: IPv4, IPv6 and their sum as ss has them.
    for (const e of [quiet, must(s.sample(T + 15_000, 0), ino)]) {
      expect(e.states).toEqual(ssCounts(q));
      expect(e.ipv4).toEqual(ssCounts(q, '-4'));
      expect(e.ipv6).toEqual(ssCounts(q, '-6'));
    }

    await conns(q, { listen: 1, estab: 1 });
    const small = must(s.sample(T + 25_000, 0), ino);
    expect(small.collect).toMatchObject({ states_age_ms: 25_000, states_unchanged: false });
    // The counts are those of the walk 25 s ago; the cheap counters are fresh.
    expect(small.states).toEqual(quiet.states);
    expect(small.states).not.toEqual(ssCounts(q));
    expect(small.sockstat.tcp_inuse).toBeGreaterThan(quiet.sockstat.tcp_inuse);

    await conns(q, { listen: 1, estab: 40 });
    const jump = must(s.sample(T + 30_000, 0), ino);
    expect(jump.collect).toMatchObject({ states_age_ms: 0, states_unchanged: true });
    expect(jump.states).toEqual(ssCounts(q));
  });

  it('with budget to spare, a namespace whose counters moved is walked the next interval', async () => {
    const m = addNetns('m');
    const first = await conns(m, { listen: 1, estab: 1 });
    const ino = inoOf(first.pid);
    // A full core: every moved namespace fits (other namespaces of the machine compete too).
    const s = sampler(1);
    const T = Date.now();
    s.sample(T, 0);
    await conns(m, { listen: 1, estab: 2 });
    const e = must(s.sample(T + 10_000, 0), ino);
    expect(e.collect).toMatchObject({ states_age_ms: 0, states_unchanged: true });
    expect(e.states).toEqual(ssCounts(m));
  });

  it('state is bounded: at most --max-namespaces tracked, the rest counted as overflow', async () => {
    const x = addNetns('x');
    await conns(x, { listen: 1 });
    const y = addNetns('y');
    await conns(y, { listen: 1 });
    const s = sampler(0.01, 1);
    const p = s.sample(Date.now(), 0);
    expect(s.tracked).toBe(1);
    expect(p.entries).toHaveLength(1);
    expect(p.collect.found).toBeGreaterThanOrEqual(2);
    expect(p.collect.overflow).toBe(p.collect.found - 1);
    expect(s.trackedProcesses).toBeLessThanOrEqual(65_536);
  });

  it.skipIf(!iptables)(
    'a request socket expiring after its last SYN-ACK is not taken for "unchanged" (TcpExt TCPTimeouts)',
    async () => {
      // Server namespace D and client namespace E on a veth; E drops D's SYN-ACKs, so D holds a
      // request socket (SYN_RECV) that outlives the client and expires with no segment and no
      // change of sockstat: only TCPTimeouts moves (bench/namespaces-quiet.mjs, docs/namespaces.md).
      const d = addNetns('d');
      const e = addNetns('e');
      linkNetns(d, 'vd', '10.99.7.2/24', e, 've', '10.99.7.1/24');
      execFileSync('ip', ['netns', 'exec', d, 'sysctl', '-qw', 'net.ipv4.tcp_synack_retries=2']);
      execFileSync('ip', ['netns', 'exec', e, 'sysctl', '-qw', 'net.ipv4.tcp_syn_retries=1']);
      ipt(e, '-A', 'INPUT', '-p', 'tcp', '--sport', '5000', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP');
      const server = await inNs(d, process.execPath, ['-e', "require('net').createServer().listen(5000, '10.99.7.2'); setTimeout(() => {}, 120000)"]);
      const ino = inoOf(server.pid);
      await waitUntil(() => ssCounts(d).listen === 1, 'the listener');
      const s = sampler(1);
      let T = Date.now();
      s.sample(T, 0);
      await inNs(e, process.execPath, ['-e', "require('net').connect(5000, '10.99.7.2').on('error', () => {}); setTimeout(() => {}, 60000)"]);

      // Sample every 200 ms (snapshot times 10 s apart) until the request socket is gone.
      let provenWithRequest = 0;
      let last: NamespaceEntry | undefined;
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        T += 10_000;
        last = must(s.sample(T, 0), ino);
        if (last.states.syn_recv > 0 && last.collect.states_unchanged && last.collect.states_age_ms > 0) provenWithRequest++;
        if (ssCounts(d).syn_recv === 0 && provenWithRequest > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // The quiet stretch before the expiry was seen as quiet (the proof path ran) ...
      expect(provenWithRequest).toBeGreaterThan(0);
      // ... and after the expiry the entry does not claim the old count as current.
      T += 10_000;
      last = must(s.sample(T, 0), ino);
      const now = ssCounts(d);
      expect(now.syn_recv).toBe(0);
      if (last.collect.states_unchanged) expect(last.states).toEqual(now);
      expect(last.states.syn_recv).toBe(0);
    },
    60_000,
  );
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
