/**
 * Finds every network namespace under a procfs root: `stat <procfs>/<pid>/ns/net` for each
 * numeric entry gives the namespace's inode (the kernel allows it to root, to the process's own
 * user, or to a holder of CAP_SYS_PTRACE). The container of each process outside the top-level
 * namespace comes from its cgroup file, read when the process is first seen in that namespace
 * and remembered while it stays there (bounded).
 *
 * The top-level namespace is the one the snapshot's top-level numbers describe, `<procfs>/net`
 * (that is `<procfs>/self/ns/net`); the host's is that of PID 1. They are the same unless the
 * agent runs in a network namespace of its own, which `hostNamespaceDiffers` reports. (PID 1's
 * namespace may be hidden even from root with CAP_SYS_PTRACE, by a security module: then the
 * check is skipped.)
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readProcFile } from '@tcpfleet/common/agent';
import { containerFromCgroup } from './cgroup-path.js';
import type { CgroupContainer } from './cgroup-path.js';

/** Most processes outside the top-level namespace whose container is remembered. */
const MAX_TRACKED_PIDS = 65_536;
/** Rounds after which a process seen without a container has its cgroup read again (runtimes move it in). */
const RECHECK_ROUNDS = 6;

/** One process outside the top-level namespace. */
export interface NsProcess {
  pid: number;
  container: CgroupContainer | null;
}

/** What one look at the process list found. */
export interface Discovery {
  /** Namespaces other than the top-level one, by inode, each with its processes by ascending pid. */
  namespaces: Map<number, NsProcess[]>;
  /** Processes whose namespace the agent may not see (EACCES/EPERM), and the first few of them. */
  denied: number;
  deniedPids: number[];
  /** Processes looked at. */
  processes: number;
}

/** Why no namespace can be listed at all. */
export class DiscoveryError extends Error {
  readonly kind: 'not-procfs-root';
  constructor(message: string, kind: 'not-procfs-root') {
    super(message);
    this.kind = kind;
  }
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? '';

export class NamespaceFinder {
  readonly #procfs: string;
  /** pid -> the namespace it was in and its container, for processes outside the top-level namespace. */
  readonly #known = new Map<number, { ino: number; container: CgroupContainer | null; round: number }>();
  #round = 0;
  /** Inode of the top-level namespace, and whether PID 1's differs from it. */
  topIno = 0;
  hostNamespaceDiffers = false;

  constructor(procfs: string) {
    this.#procfs = procfs;
  }

  /** Lists namespaces now. Throws DiscoveryError when none can be seen at all. */
  find(): Discovery {
    this.#round++;
    const self = this.#statNs('self');
    const host = this.#statNs('1');
    if (self === null && host === null) throw new DiscoveryError(`${this.#procfs} is not the root of a proc mount (no self/ns/net, no 1/ns/net)`, 'not-procfs-root');
    // A procfs tree without `self` (a copy, a fixture): PID 1's namespace is the top level.
    this.topIno = self ?? host ?? 0;
    this.hostNamespaceDiffers = self !== null && host !== null && self !== host;

    const namespaces = new Map<number, NsProcess[]>();
    let denied = 0;
    const deniedPids: number[] = [];
    let processes = 0;
    const seen = new Set<number>();
    let names: string[];
    try {
      names = readdirSync(this.#procfs);
    } catch (err) {
      throw new DiscoveryError(`cannot list ${this.#procfs}: ${errCode(err) || (err as Error).message}`, 'not-procfs-root');
    }
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      if (!Number.isSafeInteger(pid)) continue;
      processes++;
      let ino: number;
      try {
        ino = statSync(join(this.#procfs, name, 'ns/net')).ino;
      } catch (err) {
        const code = errCode(err);
        if (code === 'EACCES' || code === 'EPERM') {
          denied++;
          if (deniedPids.length < 5) deniedPids.push(pid);
        }
        // ENOENT/ESRCH: the process exited (or is a zombie without namespaces): skipped.
        continue;
      }
      if (ino === this.topIno) continue;
      seen.add(pid);
      let info = this.#known.get(pid);
      if (info === undefined || info.ino !== ino || (info.container === null && this.#round - info.round >= RECHECK_ROUNDS)) {
        info = { ino, container: this.#readContainer(name), round: this.#round };
        if (this.#known.size < MAX_TRACKED_PIDS || this.#known.has(pid)) this.#known.set(pid, info);
      }
      let list = namespaces.get(ino);
      if (list === undefined) namespaces.set(ino, (list = []));
      list.push({ pid, container: info.container });
    }
    for (const pid of this.#known.keys()) if (!seen.has(pid)) this.#known.delete(pid);
    for (const list of namespaces.values()) list.sort((a, b) => a.pid - b.pid);
    return { namespaces, denied, deniedPids, processes };
  }

  /** Processes whose container is remembered (for tests of the memory bound). */
  get trackedProcesses(): number {
    return this.#known.size;
  }

  #statNs(pid: string): number | null {
    try {
      return statSync(join(this.#procfs, pid, 'ns/net')).ino;
    } catch {
      return null;
    }
  }

  #readContainer(pid: string): CgroupContainer | null {
    try {
      const text = readProcFile(this.#procfs, `${pid}/cgroup`, 64 * 1024);
      return text === null ? null : containerFromCgroup(text);
    } catch {
      return null;
    }
  }
}

/** CAP_SYS_PTRACE, bit 19 of the capability sets. */
const CAP_SYS_PTRACE = 19;

/** True when capability number `cap` is in the effective set (CapEff) of `status`, the text of /proc/self/status. */
export function hasCapability(status: string, cap: number): boolean {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  if (m === null) return false;
  return ((BigInt(`0x${m[1] ?? '0'}`) >> BigInt(cap)) & 1n) === 1n;
}

/**
 * True when this process may see every process's namespace: CAP_SYS_PTRACE in its effective set
 * (root has it, unless a container runtime dropped it). `status` is the text of /proc/self/status.
 */
export function hasPtraceCapability(status: string): boolean {
  return hasCapability(status, CAP_SYS_PTRACE);
}
