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
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerIdentity, NamespaceEntry, Snapshot } from '@tcpfleet/common';
import { addNetns, canNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { AGENT_BIN, tempDir } from '../helpers/procs.js';
import { ssCounts, ssStates } from '../helpers/ss.js';
import { cgroup2Mount, moveIntoCgroup, removeAllCgroups } from '../helpers/cgroups.js';

const root = canNetns();
const mount = cgroup2Mount();
if ((!root || mount === null) && process.env['CI'] === 'true') throw new Error('CI must run as root with iproute2 and cgroup v2: the --namespaces live tests cannot be skipped there');

const hex = (seed: string): string => {
  let out = '';
  for (let i = 0; out.length < 64; i++) out += ((seed.charCodeAt(i % seed.length) * 31 + i * 7) % 16).toString(16);
  return out;
};
const UID_A = '1f2e3d4c-5b6a-4789-8abc-def012345678';
const UID_B = '0a0b0c0d-1111-4222-8333-944455566677';
const UID_C = 'deadbeef-0000-4000-8000-000000000042';

interface Spec {
  tag: string;
  mix: { listen: number; estab: number; estab6: number; timewait: number; closewait: number };
  /** cgroup directory of the process holding the sockets, relative to the test's parent; null: left where it is. */
  cgroup: string | null;
  /** A second holder started first (the pod's sandbox), in this cgroup. */
  sandbox?: string;
  kubeLog?: string;
  dockerName?: string;
  want: ContainerIdentity | null;
}

const ID = { docker: hex('docker'), ctrd: hex('containerd'), sandbox: hex('sandbox'), cgfs: hex('cgroupfs'), crio: hex('crio'), podman: hex('podman') };
const SPECS: Spec[] = [
  {
    tag: 'docker',
    mix: { listen: 2, estab: 3, estab6: 2, timewait: 2, closewait: 1 },
    cgroup: `system.slice/docker-${ID.docker}.scope`,
    dockerName: '/tf-web-1',
    want: { runtime: 'docker', id: ID.docker, name: 'tf-web-1' },
  },
  {
    tag: 'ctrd',
    mix: { listen: 3, estab: 4, estab6: 0, timewait: 1, closewait: 2 },
    cgroup: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_A.replaceAll('-', '_')}.slice/cri-containerd-${ID.ctrd}.scope`,
    sandbox: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_A.replaceAll('-', '_')}.slice/cri-containerd-${ID.sandbox}.scope`,
    kubeLog: `shop-7d9f8c6b5-x2k4q_shop_nginx-${ID.ctrd}.log`,
    want: { runtime: 'containerd', id: ID.ctrd, pod_uid: UID_A, pod: 'shop-7d9f8c6b5-x2k4q', namespace: 'shop', name: 'nginx', other_ids: [ID.sandbox] },
  },
  {
    tag: 'cgfs',
    mix: { listen: 1, estab: 0, estab6: 5, timewait: 0, closewait: 0 },
    cgroup: `kubepods/burstable/pod${UID_B}/${ID.cgfs}`,
    kubeLog: `api-0_prod_server-${ID.cgfs}.log`,
    want: { runtime: 'unknown', id: ID.cgfs, pod_uid: UID_B, pod: 'api-0', namespace: 'prod', name: 'server' },
  },
  {
    tag: 'crio',
    mix: { listen: 2, estab: 6, estab6: 1, timewait: 3, closewait: 0 },
    cgroup: `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_C.replaceAll('-', '_')}.slice/crio-${ID.crio}.scope`,
    want: { runtime: 'cri-o', id: ID.crio, pod_uid: UID_C },
  },
  {
    tag: 'podman',
    mix: { listen: 1, estab: 2, estab6: 0, timewait: 0, closewait: 3 },
    cgroup: `machine.slice/libpod-${ID.podman}.scope`,
    want: { runtime: 'podman', id: ID.podman },
  },
  {
    tag: 'plain',
    mix: { listen: 1, estab: 1, estab6: 1, timewait: 1, closewait: 1 },
    cgroup: null,
    want: null,
  },
];

interface Made {
  spec: Spec;
  ns: string;
  ino: number;
  pid: number;
  sandboxPid?: number;
}

const HOST_MIX = { listen: 2, estab: 2, estab6: 1, timewait: 1, closewait: 1 };

describe.skipIf(!root || mount === null)('live kernel: --namespaces, one entry per network namespace', () => {
  const tmp = tempDir('netns-live');
  const kubeDir = join(tmp.dir, 'containers');
  const dockerDir = join(tmp.dir, 'docker');
  const made: Made[] = [];
  const procs: ChildProcess[] = [];
  let host = '';
  let hostIno = 0;

  beforeAll(async () => {
    // As on a node: the kube log directory readable by all, Docker's only by root (0710 there).
    chmodSync(tmp.dir, 0o755);
    mkdirSync(kubeDir, { mode: 0o755 });
    mkdirSync(join(dockerDir, 'containers'), { recursive: true, mode: 0o700 });
    chmodSync(dockerDir, 0o700);
    host = addNetns('host');
    const hostConns = await startConns(host, HOST_MIX);
    procs.push(hostConns.proc);
    hostIno = statSync(`/proc/${hostConns.ready.pid}/ns/net`).ino;
    for (const spec of SPECS) {
      const ns = addNetns(spec.tag);
      let sandboxPid: number | undefined;
      if (spec.sandbox !== undefined) {
        const holder = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
        procs.push(holder);
        sandboxPid = holder.pid ?? 0;
        await waitNs(sandboxPid, ns);
        moveIntoCgroup(mount ?? '', spec.sandbox, sandboxPid);
      }
      const { proc, ready } = await startConns(ns, spec.mix);
      procs.push(proc);
      if (spec.cgroup !== null) moveIntoCgroup(mount ?? '', spec.cgroup, ready.pid);
      if (spec.kubeLog !== undefined) writeFileSync(join(kubeDir, spec.kubeLog), '');
      if (spec.dockerName !== undefined) {
        mkdirSync(join(dockerDir, 'containers', ID.docker));
        writeFileSync(join(dockerDir, 'containers', ID.docker, 'config.v2.json'), JSON.stringify({ ID: ID.docker, Name: spec.dockerName, Config: { Env: ['X=1'] } }));
      }
      made.push({ spec, ns, ino: statSync(`/proc/${ready.pid}/ns/net`).ino, pid: ready.pid, ...(sandboxPid !== undefined ? { sandboxPid } : {}) });
    }
    // Files of other shapes in the name sources are ignored, never a crash.
    writeFileSync(join(kubeDir, 'README'), '');
    writeFileSync(join(kubeDir, `bad\u202ename_ns_c-${ID.podman}.log`), '');
    mkdirSync(join(dockerDir, 'containers', ID.podman));
    writeFileSync(join(dockerDir, 'containers', ID.podman, 'config.v2.json'), '{not json');
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
    removeAllNetns();
    removeAllCgroups();
    tmp.cleanup();
  });

  /** Runs the agent --once --json in the test's host namespace. */
  const runAgent = (extra: readonly string[], wrap: readonly string[] = []): { snap: Snapshot; stderr: string } => {
    const r = spawnSync('ip', ['netns', 'exec', host, ...wrap, process.execPath, AGENT_BIN, '--once', '--json', ...extra], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return { snap: JSON.parse(r.stdout) as Snapshot, stderr: r.stderr };
  };
  const withNs = ['--namespaces', '--kube-log-dir', kubeDir, '--docker-dir', dockerDir];
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

/** Waits (bounded) until `pid` is in namespace `ns` (ip netns exec has switched it). */
async function waitNs(pid: number, ns: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' });
    if (r.stdout.trim() === ns) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`process ${pid} never entered ${ns}`);
}
