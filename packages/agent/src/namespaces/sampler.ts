/**
 * The per-namespace part of a snapshot (--namespaces): every network namespace other than the
 * top-level one, read through one of its processes (`<procfs>/<pid>/net/...`), attributed to a
 * container, with its cheap counters fresh every interval and its per-state counts walked as
 * the budget allows (walk-planner.ts) or kept while proven current (ns-counters.ts).
 *
 * Memory is bounded: at most --max-namespaces namespaces are tracked (the others are counted as
 * overflow and not read), their state is dropped the interval they disappear, and the process
 * and name caches are bounded and pruned (discover.ts, name-sources.ts).
 */
import { NAMESPACE_LIMITS, NAMESPACE_WIRE_LIMITS, addStates, computeSsSummary, emptyStates } from '@tcpfleet/common/agent';
import type { ContainerIdentity, NamespaceEntry, NamespacesCollect, StateCounts } from '@tcpfleet/common/agent';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { DiscoveryError, NamespaceFinder, hasPtraceCapability } from './discover.js';
import type { NsProcess } from './discover.js';
import { NameSources } from './name-sources.js';
import { hasRequestSockets, jumped, movement, readNsCounters, readTcpTimeouts, sameCounters } from './ns-counters.js';
import type { NsCounters } from './ns-counters.js';
import { WalkPlanner } from './walk-planner.js';
import type { WalkCandidate } from './walk-planner.js';
import { NsWalker } from './sock-diag.js';
import type { SockDiagAddon, WalkSource } from './sock-diag.js';

export interface NamespaceSamplerOptions {
  procfs: string;
  maxNamespaces: number;
  kubeLogDir: string;
  dockerDir: string;
  /** --walk-budget: share of one core for walks; 0 walks every namespace every interval. */
  budget: number;
  intervalMs: number;
  /** A jump (walk at once): inuse, tw or CurrEstab moved by max(minDelta, changeFraction of the larger). */
  changeFraction?: number;
  minDelta?: number;
  /** Where per-state counts come from (sock-diag.ts); auto when not given. */
  walkSource?: WalkSource;
  /** Called once per kind of lasting problem (no privilege, not a procfs root, ...). */
  warn: (message: string) => void;
  /** Called once, at construction, with the line saying which walk source is used and why. */
  info?: (message: string) => void;
  /** Tests: the addon loader (sock-diag.ts loadSockDiag). */
  loadAddon?: () => { addon: SockDiagAddon } | { error: string };
}

/** The last walk of a namespace and the counters it is proven against. */
interface Walk {
  ipv4: StateCounts;
  ipv6: StateCounts;
  skipped: number;
  errors: string[];
  ts: number;
  base: NsCounters;
  /** TCPTimeouts read just before the walk, kept when the walk saw request sockets. */
  timeouts: number | null;
}

interface NsState {
  ino: number;
  pid: number;
  walk: Walk | null;
  costMs: number;
}

/** What one call of sample() gives. */
export interface NamespacesPart {
  /** Undefined when no namespace can be seen (no privilege): the snapshot then has no `namespaces`. */
  entries: NamespaceEntry[] | undefined;
  collect: NamespacesCollect;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class NamespaceSampler {
  readonly #o: NamespaceSamplerOptions;
  readonly #finder: NamespaceFinder;
  readonly #names: NameSources;
  readonly #planner: WalkPlanner;
  /** Tracked namespaces by inode, in the order they were first seen (at most maxNamespaces). */
  readonly #ns = new Map<number, NsState>();
  readonly #warned = new Set<string>();
  #lastTs = 0;
  #avgWalkMs = 1;
  #first = true;
  /**
   * CPU of the last sample that the budget was not charged for (what came after its walks:
   * entries, containers, names), charged at the next interval's accrue, so the walks and
   * everything else together stay within the budget.
   */
  #uncharged = 0;
  #walks = 0;
  #ipv6Skips = 0;
  #walkCpuMs = 0;
  #netlinkWalks = 0;
  readonly #privileged: boolean;
  readonly #walker: NsWalker;

  constructor(o: NamespaceSamplerOptions) {
    this.#o = o;
    this.#finder = new NamespaceFinder(o.procfs);
    this.#names = new NameSources(o.kubeLogDir, o.dockerDir);
    this.#planner = new WalkPlanner({ budget: o.budget, intervalMs: o.intervalMs });
    let status = '';
    try {
      status = readFileSync('/proc/self/status', 'latin1');
    } catch {
      // No /proc of our own: assume no privilege; the warning says what to grant.
    }
    this.#privileged = hasPtraceCapability(status);
    const walkerOptions = { source: o.walkSource ?? 'auto', status, warn: (m: string) => this.#o.warn(m) } as const;
    this.#walker = new NsWalker(o.loadAddon === undefined ? walkerOptions : { ...walkerOptions, load: o.loadAddon });
    o.info?.(this.#walker.describe());
  }

  /** The walk source in use now (netlink sock_diag or /proc) and the line saying why. */
  get walkSource(): { source: 'netlink' | 'proc'; line: string } {
    return { source: this.#walker.source, line: this.#walker.describe() };
  }

  /** Namespaces whose state is held (for tests of the memory bound). */
  get tracked(): number {
    return this.#ns.size;
  }

  /** Walks made since the start, how many were netlink dumps, how many /proc walks skipped net/tcp6 (noIpv6Sockets), and their CPU milliseconds. */
  get walkCounts(): { walks: number; netlink: number; ipv6Skipped: number; cpuMs: number } {
    return { walks: this.#walks, netlink: this.#netlinkWalks, ipv6Skipped: this.#ipv6Skips, cpuMs: round3(this.#walkCpuMs) };
  }

  /** Processes whose container is remembered. */
  get trackedProcesses(): number {
    return this.#finder.trackedProcesses;
  }

  /**
   * Reads every namespace for a snapshot taken at `ts`. `hostCpuMs` is what the host's own
   * sample cost this interval (it shares the walk budget); `walkAll` walks every namespace
   * (--once).
   */
  sample(ts: number, hostCpuMs: number, walkAll = false): NamespacesPart {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const collect: NamespacesCollect = { found: 0, reported: 0, overflow: 0, pending: 0, walked: 0, unchanged: 0, stale: 0, ms: 0, cpu_ms: 0, errors: [] };
    let charged: number | null = null;
    const finish = (entries: NamespaceEntry[] | undefined): NamespacesPart => {
      collect.ms = round3(performance.now() - t0);
      collect.cpu_ms = round3(cpuMs(process.cpuUsage(c0)));
      this.#uncharged = charged === null ? 0 : Math.max(0, collect.cpu_ms - charged);
      this.#lastTs = ts;
      return { entries, collect };
    };
    this.#names.nextRound();

    let found: Map<number, NsProcess[]>;
    try {
      const d = this.#finder.find();
      found = d.namespaces;
      if (!this.#privileged)
        this.#warnOnce(
          'unprivileged',
          `without CAP_SYS_PTRACE (root has it) the agent cannot see other users' processes' network namespaces (${d.denied} of ${d.processes} processes hidden): per-namespace counts cover only its own processes; the host's numbers are complete`,
        );
      else if (d.denied > 0)
        this.#warnOnce(
          'denied',
          `the network namespace of ${d.denied} of ${d.processes} processes is hidden even with CAP_SYS_PTRACE (pid ${d.deniedPids.join(', ')}${d.denied > d.deniedPids.length ? ', ...' : ''}; a security module?): namespaces held only by them are missing`,
        );
      if (this.#finder.hostNamespaceDiffers)
        this.#warnOnce(
          'own-netns',
          `the agent runs in a network namespace of its own: the top-level numbers are that namespace's (${this.#o.procfs}/net), and the host's (PID 1's) is one of the entries; run the agent in the host's network namespace (hostNetwork: true, --network host)`,
        );
    } catch (err) {
      if (!(err instanceof DiscoveryError)) throw err;
      const msg = `${err.message}: --namespaces needs --procfs to be a proc mount such as /proc or /host/proc; reporting the top-level namespace only`;
      this.#warnOnce(err.kind, msg);
      collect.errors.push(msg.slice(0, NAMESPACE_WIRE_LIMITS.errorLength));
      return finish(undefined);
    }
    collect.found = found.size;

    // Tracked: those already known that still exist, then new ones by lowest pid, up to the limit.
    for (const ino of this.#ns.keys()) if (!found.has(ino)) this.#ns.delete(ino);
    const fresh = [...found.keys()].filter((ino) => !this.#ns.has(ino)).sort((a, b) => (found.get(a)?.[0]?.pid ?? 0) - (found.get(b)?.[0]?.pid ?? 0));
    for (const ino of fresh) {
      if (this.#ns.size >= this.#o.maxNamespaces) break;
      this.#ns.set(ino, { ino, pid: found.get(ino)?.[0]?.pid ?? 0, walk: null, costMs: this.#avgWalkMs });
    }
    collect.overflow = found.size - this.#ns.size;

    // Cheap counters of every tracked namespace, through its representative process (replaced
    // when it is gone: the next process of the namespace).
    const cheap = new Map<number, NsCounters>();
    const candidates: WalkCandidate[] = [];
    const proven = new Set<number>();
    const frac = this.#o.changeFraction ?? 0.2;
    const minDelta = this.#o.minDelta ?? 50;
    for (const st of this.#ns.values()) {
      const procs = found.get(st.ino) ?? [];
      const c = this.#readCheap(st, procs);
      if (c === null) {
        // Gone between listing and reading: skipped, never an error.
        this.#ns.delete(st.ino);
        continue;
      }
      cheap.set(st.ino, c);
      const w = st.walk;
      let unmoved = w !== null && sameCounters(c, w.base);
      if (unmoved && w !== null && w.timeouts !== null) unmoved = readTcpTimeouts(this.#root(st.pid)) === w.timeouts;
      if (unmoved) {
        proven.add(st.ino);
        continue;
      }
      candidates.push({
        key: st.ino,
        neverWalked: w === null,
        jumped: w !== null && jumped(c, w.base, frac, minDelta),
        moved: true,
        movement: w === null ? 0 : movement(c, w.base),
        ageMs: w === null ? 0 : ts - w.ts,
        costMs: st.costMs,
      });
    }

    let toWalk: number[];
    // --once, the first interval (every start pays one full round) and --walk-budget 0 (walk
    // every namespace every interval, as cAdvisor does) walk them all, moved or not.
    if (walkAll || this.#first || this.#o.budget <= 0) toWalk = [...cheap.keys()];
    else {
      const before = cpuMs(process.cpuUsage(c0));
      this.#planner.accrue(this.#lastTs === 0 ? this.#o.intervalMs : ts - this.#lastTs, hostCpuMs + before + this.#uncharged);
      charged = before;
      toWalk = this.#planner.plan(candidates);
    }
    let estimated = 0;
    let actual = 0;
    const walkedNow = new Set<number>();
    for (const ino of toWalk) {
      const st = this.#ns.get(ino);
      const base = cheap.get(ino);
      if (st === undefined || base === undefined) continue;
      estimated += st.costMs;
      const w0 = process.cpuUsage();
      const root = this.#root(st.pid);
      // TCPTimeouts before the walk: a request socket expiring after this read shows in it later.
      const timeouts = readTcpTimeouts(root);
      // One netlink dump, or net/tcp and net/tcp6 (tcp6 skipped when it provably holds nothing).
      const walk = this.#walker.walk(root);
      if (walk.ipv6Skipped) this.#ipv6Skips++;
      if (walk.source === 'netlink') this.#netlinkWalks++;
      const cost = cpuMs(process.cpuUsage(w0));
      actual += cost;
      this.#walks++;
      this.#walkCpuMs += cost;
      if (walk.failed) {
        // The process left while being read: keep the previous counts, if any.
        if (st.walk !== null) st.walk.errors = walk.errors.slice(0, NAMESPACE_LIMITS.errors).map((e) => e.slice(0, NAMESPACE_WIRE_LIMITS.errorLength));
        continue;
      }
      st.costMs = cost;
      this.#avgWalkMs = 0.8 * this.#avgWalkMs + 0.2 * cost;
      st.walk = {
        ipv4: walk.ipv4,
        ipv6: walk.ipv6,
        skipped: walk.skipped,
        errors: walk.errors.slice(0, NAMESPACE_LIMITS.errors).map((e) => e.slice(0, NAMESPACE_WIRE_LIMITS.errorLength)),
        ts,
        base,
        timeouts: hasRequestSockets(walk.ipv4, walk.ipv6) ? timeouts : null,
      };
      walkedNow.add(ino);
    }
    if (charged !== null) charged += actual;
    if (this.#first && !walkAll) this.#planner.reset();
    else this.#planner.settle(estimated, actual);
    this.#first = false;

    // Entries, for every tracked namespace that has counts.
    const entries: NamespaceEntry[] = [];
    const idsInUse = new Set<string>();
    for (const st of this.#ns.values()) {
      const c = cheap.get(st.ino);
      const w = st.walk;
      if (c === undefined) continue;
      if (w === null) {
        collect.pending++;
        continue;
      }
      const walked = walkedNow.has(st.ino);
      const unchanged = walked || proven.has(st.ino);
      if (walked) collect.walked++;
      else if (unchanged) collect.unchanged++;
      else collect.stale++;
      const container = this.#container(found.get(st.ino) ?? [], idsInUse);
      entries.push({
        netns: st.ino,
        pid: st.pid,
        container,
        states: addStates(addStates(emptyStates(), w.ipv4), w.ipv6),
        ipv4: w.ipv4,
        ipv6: w.ipv6,
        summary: computeSsSummary(c.sockstat, c.snmp),
        sockstat: c.sockstat,
        snmp: c.snmp,
        collect: { states_age_ms: Math.max(0, ts - w.ts), states_unchanged: unchanged, skipped: w.skipped, errors: w.errors },
      });
    }
    this.#names.prune(idsInUse);
    entries.sort((a, b) => a.netns - b.netns);
    collect.reported = entries.length;
    return finish(entries);
  }

  #root(pid: number): string {
    return join(this.#o.procfs, String(pid));
  }

  /** Cheap counters through the representative, or the next process of the namespace. */
  #readCheap(st: NsState, procs: readonly NsProcess[]): NsCounters | null {
    const order = procs.some((p) => p.pid === st.pid) ? [st.pid, ...procs.map((p) => p.pid).filter((p) => p !== st.pid)] : procs.map((p) => p.pid);
    for (const pid of order.slice(0, 4)) {
      try {
        const c = readNsCounters(this.#root(pid));
        st.pid = pid;
        return c;
      } catch {
        // That process is gone (or a zombie): try the next one.
      }
    }
    return null;
  }

  /**
   * The namespace's container: the first of its processes' containers (by pid) that has a name,
   * else the first; the pod from any of them; the other containers' ids listed.
   */
  #container(procs: readonly NsProcess[], idsInUse: Set<string>): ContainerIdentity | null {
    const seen = new Map<string, NonNullable<NsProcess['container']>>();
    for (const p of procs) if (p.container !== null && !seen.has(p.container.id)) seen.set(p.container.id, p.container);
    if (seen.size === 0) return null;
    let primary: ContainerIdentity | null = null;
    let pod: { pod: string; namespace: string } | null = null;
    for (const c of seen.values()) {
      idsInUse.add(c.id);
      const kube = c.pod_uid !== undefined ? this.#names.kube(c.id) : undefined;
      if (kube !== undefined && pod === null) pod = { pod: kube.pod, namespace: kube.namespace };
      const name = kube?.container ?? (c.runtime === 'docker' ? this.#names.docker(c.id) : undefined);
      if (primary === null && name !== undefined) primary = { ...c, name };
    }
    if (primary === null) {
      const first = seen.values().next().value;
      if (first === undefined) return null;
      primary = { ...first };
    }
    const out: ContainerIdentity = { runtime: primary.runtime, id: primary.id };
    if (primary.pod_uid !== undefined) out.pod_uid = primary.pod_uid;
    if (pod !== null) {
      out.pod = pod.pod;
      out.namespace = pod.namespace;
    }
    if (primary.name !== undefined) out.name = primary.name;
    const others = [...seen.keys()].filter((id) => id !== primary.id).slice(0, NAMESPACE_LIMITS.otherIds);
    if (others.length > 0) out.other_ids = others;
    return out;
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#o.warn(message);
  }
}
