/**
 * --namespaces on the real kernel (issue 10): network namespaces made by the test, each held by
 * processes moved into cgroup v2 directories shaped like docker, containerd under Kubernetes
 * (systemd and cgroupfs drivers), cri-o and podman, with known mixes of TCP states in IPv4 and
 * IPv6. `tcpfleet-agent --once --json --namespaces`, run in a namespace of the test's own (its
 * "host"), must give every namespace's states equal to `ss -tan state ...` there, the right
 * runtime, container id and pod uid, names from a kube log dir and a docker dir the test
 * writes, and top-level numbers equal to a run without --namespaces and to ss in the agent's
 * namespace. Without CAP_SYS_PTRACE: one warning, host numbers still there; with only
 * CAP_SYS_PTRACE (as nobody): every namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { canNetns } from '../helpers/netns.js';
import { AGENT_BIN, tempDir } from '../helpers/procs.js';
import { ssCounts, ssStates } from '../helpers/ss.js';
import { cgroup2Mount } from '../helpers/cgroups.js';
import { ID, buildNsTopology, teardownNsTopology } from '../helpers/ns-topology.js';
import type { Made } from '../helpers/ns-topology.js';

const root = canNetns();
const mount = cgroup2Mount();
if ((!root || mount === null) && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2 and cgroup v2: the --namespaces live tests cannot be skipped there');

describe.skipIf(!root || mount === null)('live kernel: --namespaces, one entry per network namespace', () => {
  const tmp = tempDir('netns-live');
  let made: Made[] = [];
  const procs: ChildProcess[] = [];
  let host = '';
  let hostIno = 0;
  let withNs: string[] = [];

  beforeAll(async () => {
    ({ made, host, hostIno, withNs } = await buildNsTopology(tmp.dir, mount ?? '', procs));
  }, 120_000);

  afterAll(async () => {
    await teardownNsTopology(procs);
    tmp.cleanup();
  });

  /** Runs the agent --once --json in the test's host namespace. */
  const runAgent = (extra: readonly string[], wrap: readonly string[] = []): { snap: Snapshot; stderr: string } => {
    const r = spawnSync('ip', ['netns', 'exec', host, ...wrap, process.execPath, AGENT_BIN, '--once', '--json', ...extra], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return { snap: JSON.parse(r.stdout) as Snapshot, stderr: r.stderr };
  };
  const entryOf = (snap: Snapshot, m: Made): NamespaceEntry => {
    const e = snap.namespaces?.find((x) => x.netns === m.ino);
    if (e === undefined) throw new Error(`no entry for ${m.spec.tag} (netns ${m.ino})`);
    return e;
  };

  it('the fixture: each namespace holds its mix, in the cgroup it was given', () => {
    const ctrd = made.find((m) => m.spec.tag === 'ctrd');
    expect(ssStates(ctrd?.ns ?? '')).toMatchObject({ established: 8, listen: 3, time_wait: 1, close_wait: 2, fin_wait2: 2 });
    // The one-call helper the later tests use agrees with `ss state X` per state.
    for (const fam of ['', '-4', '-6'] as const) expect(ssCounts(ctrd?.ns ?? '', fam)).toEqual(ssStates(ctrd?.ns ?? '', fam));
    const crio = made.find((m) => m.spec.tag === 'crio');
    expect(spawnSync('cat', [`/proc/${crio?.pid}/cgroup`], { encoding: 'utf8' }).stdout).toContain(`crio-${ID.crio}.scope`);
  });

  it('--once --json --namespaces: every namespace states = ss, per state, IPv4 and IPv6; runtime, id, pod uid and names', () => {
    const { snap } = runAgent(withNs);
    for (const m of made) {
      const e = entryOf(snap, m);
      // ss after the agent: nothing moves in these namespaces (TIME_WAIT lasts 60 s).
      expect(e.states, m.spec.tag).toEqual(ssStates(m.ns));
      expect(e.ipv4, m.spec.tag).toEqual(ssStates(m.ns, '-4'));
      expect(e.ipv6, m.spec.tag).toEqual(ssStates(m.ns, '-6'));
      expect(e.container, m.spec.tag).toEqual(m.spec.want);
      expect(e.collect).toEqual({ states_age_ms: 0, states_unchanged: true, skipped: 0, errors: [] });
      // CurrEstab counts ESTABLISHED and CLOSE_WAIT; inuse and tw are the namespace's own.
      expect(e.summary.estab).toBe(e.states.established + e.states.close_wait);
      expect(e.snmp['CurrEstab']).toBe(e.summary.estab);
      expect(e.sockstat.tcp_tw).toBe(e.states.time_wait);
      expect(e.summary.timewait).toBe(e.states.time_wait);
      // The representative is a process of that namespace: the lowest pid (the sandbox, when there is one).
      expect(e.pid).toBe(m.sandboxPid ?? m.pid);
    }
    expect(snap.collect.namespaces).toMatchObject({ overflow: 0, pending: 0, errors: [] });
    expect(snap.collect.namespaces?.reported).toBe(snap.namespaces?.length);
    expect(snap.collect.namespaces?.walked).toBe(snap.namespaces?.length);
    expect(snap.collect.namespaces?.found ?? 0).toBeGreaterThanOrEqual(made.length + 1);
    // The test's own (root) namespace is one of the entries: only the agent's is top level.
    const rootIno = statSync('/proc/self/ns/net').ino;
    expect(snap.namespaces?.some((e) => e.netns === rootIno)).toBe(true);
    expect(snap.namespaces?.some((e) => e.netns === statSync(`/proc/${process.pid}/ns/net`).ino)).toBe(true);
    const ids = (snap.namespaces ?? []).map((e) => e.netns);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("top-level numbers are the agent namespace's, equal to ss there and to a run without --namespaces", () => {
    const plain = runAgent([]).snap;
    const { snap } = runAgent(withNs);
    const want = ssCounts(host);
    for (const s of [plain, snap]) {
      expect(s.states).toEqual(want);
      expect(s.ipv4).toEqual(ssCounts(host, '-4'));
      expect(s.ipv6).toEqual(ssCounts(host, '-6'));
    }
    expect(snap.summary.estab).toBe(plain.summary.estab);
    expect(snap.summary.timewait).toBe(plain.summary.timewait);
    expect(snap.sockstat.tcp_inuse).toBe(plain.sockstat.tcp_inuse);
    expect(snap.snmp['CurrEstab']).toBe(plain.snmp['CurrEstab']);
    expect(plain.namespaces).toBeUndefined();
    expect(plain.collect.namespaces).toBeUndefined();
    // None of the entries is the agent's own namespace.
    expect(hostIno).toBeGreaterThan(0);
    expect(snap.namespaces?.some((e) => e.netns === hostIno)).toBe(false);
  });

  it('the text output lists the namespaces with their containers', () => {
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, AGENT_BIN, '--once', ...withNs], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const ctrd = made.find((m) => m.spec.tag === 'ctrd');
    expect(r.stdout).toMatch(new RegExp(`^${ctrd?.ino}\\s+\\d+ containerd\\s+shop/shop-7d9f8c6b5-x2k4q nginx\\s+8\\s+3\\s+1\\s+2\\s+`, 'm'));
    expect(r.stdout).toMatch(/^NETNS\s+PID\s+RUNTIME/m);
  });

  it('--max-namespaces: at most that many entries, the rest counted as overflow', () => {
    const { snap } = runAgent([...withNs, '--max-namespaces', '2']);
    const found = snap.collect.namespaces?.found ?? 0;
    expect(found).toBeGreaterThanOrEqual(made.length);
    expect(snap.namespaces).toHaveLength(2);
    expect(snap.collect.namespaces?.overflow).toBe(found - 2);
  });

  it('as nobody without capabilities: one clear warning, host numbers still reported', () => {
    const { snap, stderr } = runAgent(withNs, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all']);
    const lines = stderr
      .trim()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tcpfleet-agent: warning: without CAP_SYS_PTRACE .*cannot see other users' processes' network namespaces/);
    expect(snap.states).toEqual(ssCounts(host));
    // It sees no namespace of another user's process.
    for (const m of made) expect(snap.namespaces?.some((e) => e.netns === m.ino)).toBe(false);
  });

  it('as nobody with only CAP_SYS_PTRACE: every namespace, counts equal to ss (the least privilege it needs); Docker names also need CAP_DAC_READ_SEARCH', () => {
    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    const { snap } = runAgent(withNs, [...nobody, '--inh-caps=+sys_ptrace', '--ambient-caps=+sys_ptrace']);
    for (const m of made) {
      const e = entryOf(snap, m);
      expect(e.states, m.spec.tag).toEqual(ssCounts(m.ns));
      // Docker's directory is root's: no name without CAP_DAC_READ_SEARCH; the rest as root sees it.
      const { name: _name, ...withoutName } = m.spec.want ?? { name: undefined };
      expect(e.container, m.spec.tag).toEqual(m.spec.tag === 'docker' ? withoutName : m.spec.want);
    }
    expect(snap.states).toEqual(ssCounts(host));
    const both = runAgent(withNs, [...nobody, '--inh-caps=+sys_ptrace,+dac_read_search', '--ambient-caps=+sys_ptrace,+dac_read_search']).snap;
    const docker = made.find((m) => m.spec.tag === 'docker');
    expect(docker !== undefined && entryOf(both, docker).container).toEqual(docker?.spec.want);
  });
});
