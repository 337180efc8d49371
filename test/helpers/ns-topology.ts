/**
 * The live-kernel topology of the --namespaces tests (issue 10), shared by the agent's test
 * (test/e2e/namespaces-live.test.ts) and the collector's (test/e2e/namespaces-store.test.ts):
 * a "host" network namespace of the test's own, and one namespace per runtime shape, each held by
 * processes moved into cgroup v2 directories shaped like docker, containerd under Kubernetes
 * (systemd and cgroupfs drivers), cri-o and podman, with known mixes of TCP states in IPv4 and
 * IPv6; a kube log directory and a docker directory naming some of them.
 * teardownNsTopology() (in afterAll) kills the processes and removes namespaces and cgroups.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerIdentity } from '@tcpfleet/common';
import { addNetns, removeAllNetns, startConns } from './netns.js';
import { moveIntoCgroup, removeAllCgroups } from './cgroups.js';

const hex = (seed: string): string => {
  let out = '';
  for (let i = 0; out.length < 64; i++) out += ((seed.charCodeAt(i % seed.length) * 31 + i * 7) % 16).toString(16);
  return out;
};
const UID_A = '1f2e3d4c-5b6a-4789-8abc-def012345678';
const UID_B = '0a0b0c0d-1111-4222-8333-944455566677';
const UID_C = 'deadbeef-0000-4000-8000-000000000042';

export interface Spec {
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

export const ID = { docker: hex('docker'), ctrd: hex('containerd'), sandbox: hex('sandbox'), cgfs: hex('cgroupfs'), crio: hex('crio'), podman: hex('podman') };
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

export interface Made {
  spec: Spec;
  ns: string;
  ino: number;
  pid: number;
  sandboxPid?: number;
}

const HOST_MIX = { listen: 2, estab: 2, estab6: 1, timewait: 1, closewait: 1 };

/** The topology as built. */
export interface NsTopology {
  /** The test's "host" namespace (run the agent there) and its inode. */
  host: string;
  hostIno: number;
  made: Made[];
  kubeDir: string;
  dockerDir: string;
  /** The agent flags that point it at the name sources. */
  withNs: string[];
}

/**
 * Builds the topology under `dir` (a temp dir of the test) in the cgroup v2 mount `mount`; every
 * process it starts goes into `procs` at once, so teardownNsTopology(procs) ends them also when
 * the build fails halfway.
 */
export async function buildNsTopology(dir: string, mount: string, procs: ChildProcess[]): Promise<NsTopology> {
  const kubeDir = join(dir, 'containers');
  const dockerDir = join(dir, 'docker');
  const made: Made[] = [];
  // As on a node: the kube log directory readable by all, Docker's only by root (0710 there).
  chmodSync(dir, 0o755);
  mkdirSync(kubeDir, { mode: 0o755 });
  mkdirSync(join(dockerDir, 'containers'), { recursive: true, mode: 0o700 });
  chmodSync(dockerDir, 0o700);
  const host = addNetns('host');
  const hostConns = await startConns(host, HOST_MIX);
  procs.push(hostConns.proc);
  const hostIno = statSync(`/proc/${hostConns.ready.pid}/ns/net`).ino;
  for (const spec of SPECS) {
    const ns = addNetns(spec.tag);
    let sandboxPid: number | undefined;
    if (spec.sandbox !== undefined) {
      const holder = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
      procs.push(holder);
      sandboxPid = holder.pid ?? 0;
      await waitNs(sandboxPid, ns);
      moveIntoCgroup(mount, spec.sandbox, sandboxPid);
    }
    const { proc, ready } = await startConns(ns, spec.mix);
    procs.push(proc);
    if (spec.cgroup !== null) moveIntoCgroup(mount, spec.cgroup, ready.pid);
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
  return { host, hostIno, made, kubeDir, dockerDir, withNs: ['--namespaces', '--kube-log-dir', kubeDir, '--docker-dir', dockerDir] };
}

/** Ends the topology's processes (only those it started), then removes its namespaces and cgroups. */
export async function teardownNsTopology(procs: readonly ChildProcess[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
  removeAllNetns();
  removeAllCgroups();
}

/** Waits (bounded) until `pid` is in namespace `ns` (ip netns exec has switched it). */
async function waitNs(pid: number, ns: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' });
    if (r.stdout.trim() === ns) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`process ${pid} never entered ${ns}`);
}
