/**
 * The agent's deploy files run it with --namespaces and the least privilege that needs (issue 10,
 * item 5): the DaemonSet as uid 0 with every capability dropped but SYS_PTRACE, no privilege
 * escalation, the node's /proc, /var/log/containers and /var/log/pods read-only; the systemd unit
 * as its transient user with only CAP_SYS_PTRACE, plus CAP_DAC_READ_SEARCH from the Docker drop-in.
 *
 * Then, on the live kernel (root), the privileges are taken FROM the files (user, capabilities,
 * no_new_privs, environment and arguments) and the real agent runs under them with setpriv, in a
 * network namespace of the test's own, next to a "pod" namespace held by a root process: with
 * what the files grant it counts the pod's namespace exactly as ss does; with the same minus
 * CAP_SYS_PTRACE it warns once and sees no other namespace; Docker names need the drop-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Snapshot } from '@tcpfleet/common';
import { REPO } from '../helpers/fixtures.js';
import { addNetns, canNetns, removeAllNetns, startConns } from '../helpers/netns.js';
import { AGENT_BIN, tempDir } from '../helpers/procs.js';
import { ssCounts } from '../helpers/ss.js';
import { cgroup2Mount, moveIntoCgroup, removeAllCgroups } from '../helpers/cgroups.js';
import { haveTools } from '../helpers/tools.js';

interface Container {
  args: string[];
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; privileged?: boolean; runAsUser?: number; capabilities: { drop?: string[]; add?: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface DaemonSet {
  spec: {
    template: {
      spec: {
        hostNetwork: boolean;
        hostPID?: boolean;
        securityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: boolean };
        containers: Container[];
        volumes: { name: string; hostPath?: { path: string; type?: string } }[];
      };
    };
  };
}

const daemonSet = (): DaemonSet => parse(readFileSync(join(REPO, 'deploy/kubernetes/tcpfleet-agent-daemonset.yaml'), 'utf8')) as DaemonSet;
const UNIT = join(REPO, 'deploy/systemd/tcpfleet-agent.service');
const DROPIN = join(REPO, 'deploy/systemd/tcpfleet-agent-docker-names.conf');
const NETLINK_DROPIN = join(REPO, 'deploy/systemd/tcpfleet-agent-netlink-walks.conf');

/** The [Service] settings of a unit and its drop-ins, in order: every assignment of each key. */
function serviceSettings(files: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    let section = '';
    for (const raw of readFileSync(f, 'utf8').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      if (line.startsWith('[')) {
        section = line;
        continue;
      }
      if (section !== '[Service]') continue;
      const eq = line.indexOf('=');
      const k = line.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

/** A capability list as systemd merges it: assignments add up, an empty one resets. */
function capabilities(values: readonly string[] | undefined): string[] {
  let caps: string[] = [];
  for (const v of values ?? []) caps = v.trim() === '' ? [] : [...caps, ...v.trim().split(/\s+/)];
  return [...new Set(caps)].sort();
}

/** setpriv arguments giving exactly `caps` (CAP_X or X) to a process of `uid`, as the runtime would. */
function privileges(uid: number, gid: number, caps: readonly string[], ambient: boolean, noNewPrivs: boolean): string[] {
  const list = caps.map((c) => `,+${c.toLowerCase().replace(/^cap_/, '')}`).join('');
  return [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    `--inh-caps=-all${list}`,
    `--bounding-set=-all${list}`,
    ...(ambient ? [`--ambient-caps=-all${list}`] : []),
    ...(noNewPrivs ? ['--no-new-privs'] : []),
  ];
}

describe('the DaemonSet runs --namespaces with CAP_SYS_PTRACE alone and the kubelet log directories read-only', () => {
  it('args, user, capabilities, no escalation', () => {
    const pod = daemonSet().spec.template.spec;
    const c = pod.containers[0]!;
    expect(c.args).toContain('--namespaces');
    expect(c.args.join(' ')).toContain('--procfs /host/proc');
    // uid 0 (Kubernetes gives no capability to a non-root process), holding only SYS_PTRACE.
    expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsGroup: 0 });
    expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
    expect(c.securityContext.capabilities.add).toEqual(['SYS_PTRACE']);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(c.securityContext.privileged ?? false).toBe(false);
    // The host's /proc mounted (not hostPID), the host network for the top-level numbers.
    expect(pod.hostNetwork).toBe(true);
    expect(pod.hostPID ?? false).toBe(false);
  });

  it('mounts /proc, /var/log/containers and /var/log/pods from the host, read-only', () => {
    const pod = daemonSet().spec.template.spec;
    const c = pod.containers[0]!;
    for (const [path, at] of [
      ['/proc', '/host/proc'],
      ['/var/log/containers', '/var/log/containers'],
      ['/var/log/pods', '/var/log/pods'],
    ] as const) {
      const mount = c.volumeMounts.find((m) => m.mountPath === at);
      expect(mount?.readOnly, at).toBe(true);
      expect(pod.volumes.find((v) => v.name === mount?.name)?.hostPath, at).toEqual({ path, type: 'Directory' });
    }
    // Nothing else from the host: no Docker directory (names come from the log file names).
    expect(pod.volumes.map((v) => v.hostPath?.path).sort()).toEqual(['/proc', '/var/log/containers', '/var/log/pods']);
  });
});

describe('the systemd unit runs --namespaces with CAP_SYS_PTRACE alone; the Docker drop-in adds CAP_DAC_READ_SEARCH', () => {
  it('settings', () => {
    const base = serviceSettings([UNIT]);
    expect(base.get('Environment')).toContain('TCPFLEET_NAMESPACES=1');
    // agent.env comes after, so TCPFLEET_NAMESPACES=0 there turns it off.
    const keys = readFileSync(UNIT, 'utf8')
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(keys.indexOf('Environment')).toBeLessThan(keys.indexOf('EnvironmentFile'));
    expect(capabilities(base.get('CapabilityBoundingSet'))).toEqual(['CAP_SYS_PTRACE']);
    expect(capabilities(base.get('AmbientCapabilities'))).toEqual(['CAP_SYS_PTRACE']);
    expect(base.get('DynamicUser')).toEqual(['yes']);
    expect(base.get('NoNewPrivileges')).toEqual(['yes']);
    const docker = serviceSettings([UNIT, DROPIN]);
    expect(capabilities(docker.get('CapabilityBoundingSet'))).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE']);
    expect(capabilities(docker.get('AmbientCapabilities'))).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE']);
    expect([...docker.keys()].sort()).toEqual([...base.keys()].sort());
  });

  it('the opt-in netlink drop-in adds CAP_SYS_ADMIN, network namespaces and AF_NETLINK, and nothing else', () => {
    const base = serviceSettings([UNIT]);
    const nl = serviceSettings([UNIT, NETLINK_DROPIN]);
    expect(capabilities(nl.get('CapabilityBoundingSet'))).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    expect(capabilities(nl.get('AmbientCapabilities'))).toEqual(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    // systemd merges these lists: the unit's RestrictNamespaces=yes plus net, its families plus AF_NETLINK.
    expect(nl.get('RestrictNamespaces')).toEqual(['yes', 'net']);
    expect(nl.get('RestrictAddressFamilies')?.join(' ').split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect([...nl.keys()].sort()).toEqual([...base.keys()].sort());
  });

  describe.skipIf(!haveTools(['systemd-analyze'], 'systemd'))('systemd-analyze', () => {
    it('accepts the unit with the drop-in without a warning, and rates it below 3', () => {
      const tmp = tempDir('units-dropin');
      try {
        const unit = join(tmp.dir, 'tcpfleet-agent.service');
        writeFileSync(
          unit,
          readFileSync(UNIT, 'utf8')
            .replace(/@NODE@/g, process.execPath)
            .replace(/@AGENT@/g, '/usr/local/lib/tcpfleet/tcpfleet-agent.mjs'),
        );
        mkdirSync(join(tmp.dir, 'tcpfleet-agent.service.d'));
        writeFileSync(join(tmp.dir, 'tcpfleet-agent.service.d/docker-names.conf'), readFileSync(DROPIN));
        const v = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8', timeout: 60_000 });
        expect(v.status, v.stderr).toBe(0);
        expect(v.stderr.trim()).toBe('');
        const s = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', unit], { encoding: 'utf8', timeout: 60_000 });
        // The drop-in was read: the DAC line is flagged.
        expect(s.stdout).toMatch(/✗ CapabilityBoundingSet=~CAP_\(DAC_\*/);
        const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(s.stdout);
        expect(m, s.stdout + s.stderr).not.toBeNull();
        process.stdout.write(`tcpfleet-agent.service + docker-names.conf: exposure ${m![1]}\n`);
        expect(Number(m![1])).toBeLessThan(3);
      } finally {
        tmp.cleanup();
      }
    });
  });
});

const root = canNetns();
const mount = cgroup2Mount();
const haveSetpriv = haveTools(['setpriv'], 'util-linux');
if ((!root || mount === null || !haveSetpriv) && process.env['CI'] === 'true')
  throw new Error('CI must run as root with iproute2, util-linux and cgroup v2: the deploy privilege tests cannot be skipped there');

describe.skipIf(!root || mount === null || !haveSetpriv)('live kernel: the privileges the files grant are the ones --namespaces needs', () => {
  const DOCKER_ID = 'd0c4e7'.padEnd(64, '5');
  const tmp = tempDir('deploy-ns');
  const dockerDir = join(tmp.dir, 'docker');
  const procs: ChildProcess[] = [];
  let host = '';
  let pod = '';
  let podIno = 0;

  beforeAll(async () => {
    // As on a Docker host: /var/lib/docker is root's.
    chmodSync(tmp.dir, 0o755);
    mkdirSync(join(dockerDir, 'containers', DOCKER_ID), { recursive: true });
    writeFileSync(join(dockerDir, 'containers', DOCKER_ID, 'config.v2.json'), JSON.stringify({ ID: DOCKER_ID, Name: '/tf-deploy-web' }));
    chmodSync(dockerDir, 0o710);
    host = addNetns('dhost');
    pod = addNetns('dpod');
    const held = await startConns(pod, { listen: 2, estab: 3, estab6: 1, timewait: 1, closewait: 1 });
    procs.push(held.proc);
    podIno = statSync(`/proc/${held.ready.pid}/ns/net`).ino;
    moveIntoCgroup(mount ?? '', `system.slice/docker-${DOCKER_ID}.scope`, held.ready.pid);
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
    removeAllNetns();
    removeAllCgroups();
    tmp.cleanup();
  });

  /** The agent --once --json in the test's host namespace, under `wrap`, with `args` and `env`. */
  const runAgent = (wrap: readonly string[], args: readonly string[], env: Record<string, string> = {}): { snap: Snapshot; warnings: string[] } => {
    const r = spawnSync('ip', ['netns', 'exec', host, ...wrap, process.execPath, AGENT_BIN, '--once', '--json', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env['PATH'], ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    return { snap: JSON.parse(r.stdout) as Snapshot, warnings: r.stderr.split('\n').filter((l) => l.trim() !== '') };
  };
  const podEntry = (snap: Snapshot) => snap.namespaces?.find((e) => e.netns === podIno);

  it('DaemonSet: uid 0 with only SYS_PTRACE counts the pod exactly; without it, one warning and no pod', () => {
    const ds = daemonSet().spec.template.spec;
    const c = ds.containers[0]!;
    // The node's /proc is at /host/proc in the pod; here the test's /proc is the node's.
    const args = c.args.map((a) => (a === '/host/proc' ? '/proc' : a));
    const caps = c.securityContext.capabilities.add ?? [];
    const granted = runAgent(privileges(ds.securityContext.runAsUser, ds.securityContext.runAsGroup, caps, false, !c.securityContext.allowPrivilegeEscalation), args);
    // (Some sandboxes hide a process even from root: the agent then names it in another warning.)
    expect(granted.warnings.filter((w) => /CAP_SYS_PTRACE \(root has it\)/.test(w))).toEqual([]);
    expect(podEntry(granted.snap)?.states).toEqual(ssCounts(pod));
    expect(granted.snap.states).toEqual(ssCounts(host));
    // uid 0 alone is not enough: the kernel refuses ptrace access to processes holding capabilities the agent lacks.
    const without = runAgent(
      privileges(
        ds.securityContext.runAsUser,
        ds.securityContext.runAsGroup,
        caps.filter((x) => x !== 'SYS_PTRACE'),
        false,
        true,
      ),
      args,
    );
    expect(without.warnings).toHaveLength(1);
    expect(without.warnings[0]).toMatch(/warning: without CAP_SYS_PTRACE/);
    expect(podEntry(without.snap)).toBeUndefined();
    expect(without.snap.states).toEqual(ssCounts(host));
  });

  it('systemd unit: its transient user with its capabilities counts the pod exactly; Docker names only with the drop-in', () => {
    const run = (files: readonly string[]) => {
      const s = serviceSettings(files);
      const env = Object.fromEntries((s.get('Environment') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      // DynamicUser: a uid of no other process; nobody stands in for it. No flag: --namespaces comes from the environment.
      return runAgent(privileges(65534, 65534, capabilities(s.get('AmbientCapabilities')), true, s.get('NoNewPrivileges')?.at(-1) === 'yes'), ['--docker-dir', dockerDir], env);
    };
    const base = run([UNIT]);
    expect(base.warnings.filter((w) => /CAP_SYS_PTRACE \(root has it\)/.test(w))).toEqual([]);
    const e = podEntry(base.snap);
    expect(e?.states).toEqual(ssCounts(pod));
    expect(e?.container).toEqual({ runtime: 'docker', id: DOCKER_ID });
    expect(base.snap.states).toEqual(ssCounts(host));
    const docker = run([UNIT, DROPIN]);
    expect(podEntry(docker.snap)?.container).toEqual({ runtime: 'docker', id: DOCKER_ID, name: 'tf-deploy-web' });
  });

  it('systemd unit with the netlink drop-in: its transient user enters the pod namespace for a netlink walk (no fallback warning), counts equal ss', () => {
    // setpriv gives the files' user and capabilities; systemd's seccomp settings (RestrictNamespaces,
    // RestrictAddressFamilies) are checked above from the files, not applied here.
    const s = serviceSettings([UNIT, NETLINK_DROPIN]);
    const env = Object.fromEntries((s.get('Environment') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const wrap = privileges(65534, 65534, capabilities(s.get('AmbientCapabilities')), true, true);
    const nl = runAgent(wrap, ['--walk-source', 'netlink'], env);
    expect(nl.warnings.filter((w) => w.includes('sock_diag'))).toEqual([]);
    expect(podEntry(nl.snap)?.states).toEqual(ssCounts(pod));
    // The same user without the drop-in: netlink asked for, refused (no CAP_SYS_ADMIN), one warning, the same counts from /proc.
    const base = serviceSettings([UNIT]);
    const refused = runAgent(privileges(65534, 65534, capabilities(base.get('AmbientCapabilities')), true, true), ['--walk-source', 'netlink'], env);
    expect(refused.warnings.filter((w) => w.includes('sock_diag'))).toEqual([expect.stringMatching(/netlink sock_diag cannot enter network namespaces/)]);
    expect(podEntry(refused.snap)?.states).toEqual(ssCounts(pod));
  });
});
