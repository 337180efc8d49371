/**
 * The netlink sock_diag walk of a namespace (native/sock_diag.c through namespaces/sock-diag.ts)
 * on the live kernel: its per-state, per-family counts equal the /proc walk (walkTcp) and
 * `ip netns exec X ss -tan` in namespaces holding known mixes (LISTEN, ESTABLISHED, TIME-WAIT of
 * both families, CLOSE_WAIT/FIN_WAIT2, v4-mapped IPv6, SYN_SENT and request sockets shown as
 * SYN_RECV); a vanished namespace is skipped; without CAP_SYS_ADMIN the agent walks /proc, with one
 * warning when netlink was asked for, and its counts still equal ss. In CI the addon must load.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceEntry, Snapshot, StateCounts } from '@tcpfleet/common';
import { emptyStates } from '@tcpfleet/common';
import { NsWalker, loadSockDiag } from '../../../packages/agent/src/namespaces/sock-diag.js';
import { NamespaceSampler } from '../../../packages/agent/src/namespaces/sampler.js';
import { walkTcp } from '../../../packages/agent/src/sampler.js';
import { hasIptables, ipt } from '../../helpers/iptables.js';
import { addNetns, canNetns, linkNetns, removeAllNetns, startConns } from '../../helpers/netns.js';
import { AGENT_BIN, tempDir } from '../../helpers/procs.js';
import { ssCounts, ssStates } from '../../helpers/ss.js';

const root = canNetns();
const iptables = hasIptables();
const loaded = loadSockDiag();
if (process.env['CI'] && (!root || !iptables || 'error' in loaded))
  throw new Error(`CI must run as root with iproute2, iptables and the sock_diag addon built by npm install: ${'error' in loaded ? loaded.error : 'not root or no iptables'}`);

const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  removeAllNetns();
});

/** Starts `code` under node in namespace `ns`; resolves with the process once it printed "ready". */
function nodeIn(ns: string, code: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  return new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`node in ${ns} not ready in 20 s: ${err}`)), 20_000);
    p.stdout.on('data', (d: Buffer) => {
      if (!d.toString().includes('ready')) return;
      clearTimeout(t);
      resolve(p);
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`node in ${ns} exited with ${code}: ${err}`));
    });
  });
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Held {
  tag: string;
  ns: string;
  pid: number;
}

/** The addon's counts of the namespace of `pid`, as IPv4 and IPv6 state objects. */
function netlink(pid: number): { ipv4: StateCounts; ipv6: StateCounts } {
  const walker = new NsWalker({ source: 'netlink', status: '', warn: (m) => expect.fail(m) });
  expect(walker.source).toBe('netlink');
  const w = walker.walk(`/proc/${pid}`);
  expect(w.source).toBe('netlink');
  expect(w.failed).toBe(false);
  return { ipv4: w.ipv4, ipv6: w.ipv6 };
}

describe.skipIf(!root || 'error' in loaded)('live kernel: netlink sock_diag counts equal /proc and ss', () => {
  const held: Held[] = [];

  beforeAll(async () => {
    const mix = addNetns('nlmix');
    const m = await startConns(mix, { listen: 2, estab: 3, estab6: 2, timewait: 2, timewait6: 2, closewait: 2 });
    procs.push(m.proc);
    held.push({ tag: 'mix', ns: mix, pid: m.ready.pid });

    // v4-mapped IPv6: a dual-stack listener on :: and clients connecting to ::ffff:127.0.0.1.
    const mapped = addNetns('nlmap');
    const p = await nodeIn(
      mapped,
      "const net=require('net');const keep=[];const s=net.createServer((c)=>keep.push(c)).listen(6000,'::',()=>{let n=0;for(let i=0;i<3;i++){const c=net.connect(6000,'::ffff:127.0.0.1',()=>{if(++n===3)console.log('ready')});keep.push(c)}});setTimeout(()=>{},300000)",
    );
    held.push({ tag: 'mapped', ns: mapped, pid: p.pid ?? 0 });
    await waitUntil(() => ssCounts(mapped, '-6').established === 6, 'the v4-mapped connections');

    if (iptables) {
      // Server namespace S and client namespace C on a veth; C drops S's SYN-ACKs: C holds
      // SYN_SENT sockets, S request sockets (TCP_NEW_SYN_RECV, shown as SYN_RECV).
      const s = addNetns('nlsrv');
      const c = addNetns('nlcli');
      linkNetns(s, 'vs', '10.99.9.2/24', c, 'vc', '10.99.9.1/24');
      ipt(c, '-A', 'INPUT', '-p', 'tcp', '--sport', '5000', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'DROP');
      const srv = await nodeIn(s, "require('net').createServer().listen(5000,'10.99.9.2',()=>console.log('ready'));setTimeout(()=>{},300000)");
      const cli = await nodeIn(c, "const net=require('net');for(let i=0;i<3;i++)net.connect(5000,'10.99.9.2').on('error',()=>{});console.log('ready');setTimeout(()=>{},300000)");
      await waitUntil(() => ssCounts(s).syn_recv === 3 && ssCounts(c).syn_sent === 3, 'the half-open connections');
      held.push({ tag: 'server', ns: s, pid: srv.pid ?? 0 }, { tag: 'client', ns: c, pid: cli.pid ?? 0 });
    }
  }, 60_000);

  it('per state and per family, equal to the /proc walk and ss -tan state X (the mix of every common state)', () => {
    const h = held.find((x) => x.tag === 'mix')!;
    const n = netlink(h.pid);
    const p = walkTcp(`/proc/${h.pid}`, 0);
    expect(n.ipv4).toEqual(p.ipv4);
    expect(n.ipv6).toEqual(p.ipv6);
    expect(n.ipv4).toEqual(ssStates(h.ns, '-4'));
    expect(n.ipv6).toEqual(ssStates(h.ns, '-6'));
    // The mix as made: 2 listeners and an IPv6 one, 3+2 connections, 2+2 TIME-WAIT, 2 CLOSE_WAIT/FIN_WAIT2.
    expect(n.ipv4).toMatchObject({ listen: 2, established: 6, time_wait: 2, close_wait: 2, fin_wait2: 2 });
    expect(n.ipv6).toMatchObject({ listen: 1, established: 4, time_wait: 2 });
  });

  it('v4-mapped sockets count as IPv6, as in /proc/net/tcp6 and ss -6', () => {
    const h = held.find((x) => x.tag === 'mapped')!;
    const n = netlink(h.pid);
    expect(n.ipv4).toEqual(emptyStates());
    expect(n.ipv6).toMatchObject({ listen: 1, established: 6 });
    const p = walkTcp(`/proc/${h.pid}`, 0);
    expect(n).toEqual({ ipv4: p.ipv4, ipv6: p.ipv6 });
    expect(n.ipv6).toEqual(ssCounts(h.ns, '-6'));
  });

  it.skipIf(!iptables)('SYN_SENT, and request sockets as SYN_RECV, equal to /proc and ss', () => {
    for (const tag of ['server', 'client']) {
      const h = held.find((x) => x.tag === tag)!;
      const n = netlink(h.pid);
      const p = walkTcp(`/proc/${h.pid}`, 0);
      expect(n, tag).toEqual({ ipv4: p.ipv4, ipv6: p.ipv6 });
      expect(n.ipv4, tag).toEqual(ssCounts(h.ns, '-4'));
      expect(n.ipv6, tag).toEqual(ssCounts(h.ns, '-6'));
      expect(tag === 'server' ? n.ipv4.syn_recv : n.ipv4.syn_sent, tag).toBe(3);
    }
  });

  it('the sampler gives the same entries with --walk-source netlink and proc, and says which it used', () => {
    const tmp = tempDir('nl-sampler');
    try {
      const make = (walkSource: 'netlink' | 'proc'): { s: NamespaceSampler; info: string[]; warnings: string[] } => {
        const info: string[] = [];
        const warnings: string[] = [];
        const s = new NamespaceSampler({
          procfs: '/proc',
          maxNamespaces: 4096,
          kubeLogDir: tmp.dir,
          dockerDir: tmp.dir,
          budget: 0,
          intervalMs: 10_000,
          walkSource,
          warn: (m) => warnings.push(m),
          info: (m) => info.push(m),
        });
        return { s, info, warnings };
      };
      const nl = make('netlink');
      const pr = make('proc');
      expect(nl.info).toEqual([expect.stringMatching(/^per-state counts of namespaces from netlink sock_diag/)]);
      expect(pr.info).toEqual([expect.stringMatching(/^per-state counts of namespaces from \/proc\/PID\/net\/tcp and tcp6 \(--walk-source proc\)/)]);
      const ts = Date.now();
      const a = nl.s.sample(ts, 0, true).entries ?? [];
      const b = pr.s.sample(ts, 0, true).entries ?? [];
      expect(nl.s.walkCounts.netlink).toBe(nl.s.walkCounts.walks);
      expect(pr.s.walkCounts.netlink).toBe(0);
      expect(nl.warnings.filter((w) => w.includes('sock_diag'))).toEqual([]);
      for (const h of held) {
        const ino = statSync(`/proc/${h.pid}/ns/net`).ino;
        const ea = a.find((e) => e.netns === ino);
        const eb = b.find((e) => e.netns === ino);
        expect(ea, h.tag).toBeDefined();
        expect({ ipv4: ea?.ipv4, ipv6: ea?.ipv6 }, h.tag).toEqual({ ipv4: eb?.ipv4, ipv6: eb?.ipv6 });
        expect(ea?.ipv4, h.tag).toEqual(ssCounts(h.ns, '-4'));
        expect(ea?.ipv6, h.tag).toEqual(ssCounts(h.ns, '-6'));
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a namespace whose process exited is skipped: no counts, no error, no warning, netlink kept', async () => {
    const ns = addNetns('nlgone');
    const p = await nodeIn(ns, "console.log('ready');setTimeout(()=>{},300000)");
    const rootPath = `/proc/${p.pid}`;
    const warnings: string[] = [];
    const walker = new NsWalker({ source: 'netlink', status: '', warn: (m) => warnings.push(m) });
    expect(walker.walk(rootPath).failed).toBe(false);
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    await waitUntil(() => spawnSync('test', ['-e', `${rootPath}/ns/net`]).status !== 0, 'the process to be reaped');
    const w = walker.walk(rootPath);
    expect(w).toMatchObject({ failed: true, errors: [], source: 'netlink' });
    expect(warnings).toEqual([]);
    expect(walker.source).toBe('netlink');
    // The addon itself: ENOENT from open, as a code.
    const addon = 'error' in loaded ? null : loaded.addon;
    expect(() => addon?.tcpStates(`${rootPath}/ns/net`)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    // Not a namespace file: EINVAL from setns.
    expect(() => addon?.tcpStates('/etc/hostname')).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setns' }));
    // Its own namespace (null or its path): no setns, the same counts either way.
    expect(Array.from(addon?.tcpStates(null) ?? []).length).toBe(24);
  });

  it('without CAP_SYS_ADMIN: auto walks /proc silently, --walk-source netlink warns once; counts equal ss', () => {
    const tmp = tempDir('nl-noadmin');
    try {
      const drop = ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin'];
      const run = (source: string): { snap: Snapshot; lines: string[] } => {
        const r = spawnSync(
          drop[0]!,
          [...drop.slice(1), process.execPath, AGENT_BIN, '--once', '--json', '--namespaces', '--walk-source', source, '--kube-log-dir', tmp.dir, '--docker-dir', tmp.dir],
          {
            encoding: 'utf8',
            timeout: 120_000,
            maxBuffer: 64 * 1024 * 1024,
          },
        );
        expect(r.status, r.stderr).toBe(0);
        return { snap: JSON.parse(r.stdout) as Snapshot, lines: r.stderr.split('\n').filter((l) => l.includes('sock_diag')) };
      };
      const forced = run('netlink');
      expect(forced.lines).toHaveLength(1);
      expect(forced.lines[0]).toMatch(
        /^tcpfleet-agent: warning: netlink sock_diag cannot enter network namespaces \(sock_diag setns .*Operation not permitted\): .*\/proc\/PID\/net\/tcp and tcp6 from now on/,
      );
      const auto = run('auto');
      expect(auto.lines).toEqual([]);
      for (const { snap } of [forced, auto])
        for (const h of held) {
          const ino = statSync(`/proc/${h.pid}/ns/net`).ino;
          const e: NamespaceEntry | undefined = snap.namespaces?.find((x) => x.netns === ino);
          expect(e?.ipv4, h.tag).toEqual(ssCounts(h.ns, '-4'));
          expect(e?.ipv6, h.tag).toEqual(ssCounts(h.ns, '-6'));
        }
    } finally {
      tmp.cleanup();
    }
  }, 240_000);
});

describe('walk source choice without the live kernel', () => {
  const status = (capEff: bigint): string => `Name:\tx\nCapEff:\t${capEff.toString(16).padStart(16, '0')}\n`;
  const admin = status(1n << 21n);
  const none = status(1n << 19n);

  it('auto: netlink only with CAP_SYS_ADMIN and the addon; proc never loads it; a load failure under netlink warns once', () => {
    let loads = 0;
    const ok = () => {
      loads++;
      return { addon: { tcpStates: () => new Uint32Array(24) } };
    };
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(new NsWalker({ source: 'auto', status: admin, warn, load: ok }).source).toBe('netlink');
    const noCap = new NsWalker({ source: 'auto', status: none, warn, load: ok });
    expect(noCap.source).toBe('proc');
    expect(noCap.describe()).toMatch(/no CAP_SYS_ADMIN/);
    expect(new NsWalker({ source: 'proc', status: admin, warn, load: ok }).source).toBe('proc');
    expect(loads).toBe(1);
    expect(warnings).toEqual([]);
    const missing = () => ({ error: 'the sock_diag addon is not built' });
    expect(new NsWalker({ source: 'auto', status: admin, warn, load: missing }).source).toBe('proc');
    expect(warnings).toEqual([]);
    expect(new NsWalker({ source: 'netlink', status: none, warn, load: missing }).source).toBe('proc');
    expect(warnings).toEqual([expect.stringMatching(/^--walk-source netlink: the sock_diag addon is not built; walking \/proc/)]);
  });

  it('EPERM from setns switches to /proc for good with one warning; other errors fall back for that walk only', () => {
    const warnings: string[] = [];
    let calls = 0;
    const fail = (code: string, syscall: string) => () => {
      calls++;
      throw Object.assign(new Error(`sock_diag ${syscall} x: ${code}`), { code, syscall });
    };
    const eio = new NsWalker({ source: 'netlink', status: '', warn: (m) => warnings.push(m), load: () => ({ addon: { tcpStates: fail('EIO', 'recv') } }) });
    for (let i = 0; i < 3; i++) expect(eio.walk('/nonexistent-procfs/1')).toMatchObject({ source: 'proc', failed: true });
    expect(eio.source).toBe('netlink');
    expect(calls).toBe(3);
    expect(warnings).toHaveLength(1);
    warnings.length = 0;
    calls = 0;
    const eperm = new NsWalker({ source: 'netlink', status: '', warn: (m) => warnings.push(m), load: () => ({ addon: { tcpStates: fail('EPERM', 'setns') } }) });
    for (let i = 0; i < 3; i++) expect(eperm.walk('/nonexistent-procfs/1').source).toBe('proc');
    expect(calls).toBe(1);
    expect(eperm.source).toBe('proc');
    expect(warnings).toEqual([expect.stringMatching(/^netlink sock_diag cannot enter network namespaces/)]);
  });
});
