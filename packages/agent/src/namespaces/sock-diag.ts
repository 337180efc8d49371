/**
 * The per-state walk of one namespace (--namespaces), from one of two sources that give the same
 * numbers by construction (the kernel walks the same hash table and reports the same state per
 * socket to both):
 *
 * - netlink sock_diag (native/sock_diag.c, the source `ss` reads): one dump covers IPv4 and IPv6
 *   in one pass over the host-wide TCP hash table and returns only the namespace's own sockets,
 *   in binary. Needs the addon built (npm install) and CAP_SYS_ADMIN (setns into the namespace).
 * - /proc/PID/net/tcp and tcp6 (walkTcp): two passes over the hash table, every socket formatted
 *   as text; needs nothing beyond what --namespaces already needs.
 *
 * --walk-source auto (the default) uses netlink when the addon loads and the agent holds
 * CAP_SYS_ADMIN, else /proc without a warning (least privilege is the default deployment);
 * --walk-source netlink tries netlink whatever the capabilities say and warns once when it
 * cannot; --walk-source proc never loads the addon.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyStates, statesFromArray } from '@tcpfleet/common/agent';
import type { StateCounts } from '@tcpfleet/common/agent';
import { walkTcp } from '../sampler.js';
import { hasCapability } from './discover.js';
import { noIpv6Sockets } from './ns-counters.js';
import type { WALK_SOURCES } from '../config.js';

export type WalkSource = (typeof WALK_SOURCES)[number];

/** The addon's one function (native/sock_diag.c). */
export interface SockDiagAddon {
  /** Counts of states 1..12, IPv4 at 0..11 then IPv6 at 12..23, of the namespace at `nsPath` (null: the caller's). */
  tcpStates(nsPath: string | null): Uint32Array;
}

/** An error thrown by the addon: `code` is the errno name, `syscall` the step. */
interface AddonError extends Error {
  code?: string;
  syscall?: string;
}

const CAP_SYS_ADMIN = 21;

/** Where the built addon may be: the package's build/ (from dist/ or src/), or next to a bundle. */
function addonCandidates(): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return [join(here, '../../build/Release/sock_diag.node'), join(here, 'sock_diag.node')];
}

/** Loads the addon, or says why not. */
export function loadSockDiag(): { addon: SockDiagAddon } | { error: string } {
  const found = addonCandidates().find((p) => existsSync(p));
  if (found === undefined) return { error: 'the sock_diag addon is not built (npm install builds packages/agent/build/Release/sock_diag.node; python3, make and a C compiler are needed)' };
  try {
    const mod = createRequire(import.meta.url)(found) as Partial<SockDiagAddon>;
    if (typeof mod.tcpStates !== 'function') return { error: `${found} has no tcpStates()` };
    return { addon: mod as SockDiagAddon };
  } catch (err) {
    return { error: `the sock_diag addon ${found} does not load: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** One namespace's per-state counts, as the namespace sampler keeps them. */
export interface NsWalk {
  ipv4: StateCounts;
  ipv6: StateCounts;
  skipped: number;
  errors: string[];
  /** The namespace could not be walked (its process left): keep the previous counts. */
  failed: boolean;
  /** /proc walk only: net/tcp6 skipped because it provably held nothing. */
  ipv6Skipped: boolean;
  source: 'netlink' | 'proc';
}

/** errno names meaning the process (and so the path to its namespace) is gone. */
const VANISHED = new Set(['ENOENT', 'ESRCH']);
/** errno names meaning the agent may not enter namespaces at all. */
const DENIED = new Set(['EPERM', 'EACCES']);

export interface NsWalkerOptions {
  source: WalkSource;
  /** /proc/self/status text (its CapEff). */
  status: string;
  /** Called once per kind of problem. */
  warn: (message: string) => void;
  load?: () => ReturnType<typeof loadSockDiag>;
}

/** Walks namespaces through netlink or /proc, as decided once at the start (and on EPERM). */
export class NsWalker {
  #addon: SockDiagAddon | null = null;
  #reason: string;
  readonly #warn: (message: string) => void;
  readonly #warned = new Set<string>();

  constructor(o: NsWalkerOptions) {
    this.#warn = o.warn;
    if (o.source === 'proc') {
      this.#reason = '--walk-source proc';
      return;
    }
    if (o.source === 'auto' && !hasCapability(o.status, CAP_SYS_ADMIN)) {
      this.#reason = 'no CAP_SYS_ADMIN, which netlink sock_diag needs to enter a namespace (optional: --walk-source netlink, docs/namespaces.md)';
      return;
    }
    const loaded = (o.load ?? loadSockDiag)();
    if ('error' in loaded) {
      this.#reason = loaded.error;
      if (o.source === 'netlink') this.#warnOnce('load', `--walk-source netlink: ${loaded.error}; walking /proc/PID/net/tcp and tcp6 instead`);
      return;
    }
    this.#addon = loaded.addon;
    this.#reason = o.source === 'netlink' ? '--walk-source netlink' : 'the addon loads and the agent holds CAP_SYS_ADMIN';
  }

  /** The source in use now. */
  get source(): 'netlink' | 'proc' {
    return this.#addon === null ? 'proc' : 'netlink';
  }

  /** One line saying which source the walks use and why. */
  describe(): string {
    return this.#addon === null
      ? `per-state counts of namespaces from /proc/PID/net/tcp and tcp6 (${this.#reason})`
      : `per-state counts of namespaces from netlink sock_diag, one dump per namespace (${this.#reason})`;
  }

  /** Walks the namespace of the process at `root` (`<procfs>/<pid>`). */
  walk(root: string): NsWalk {
    const addon = this.#addon;
    if (addon !== null) {
      try {
        const a = addon.tcpStates(join(root, 'ns/net'));
        return { ipv4: statesFromArray([0, ...a.subarray(0, 12)]), ipv6: statesFromArray([0, ...a.subarray(12, 24)]), skipped: 0, errors: [], failed: false, ipv6Skipped: false, source: 'netlink' };
      } catch (err) {
        const e = err as AddonError;
        const code = e.code ?? 'EIO';
        // The process left between listing and walking: skipped, never an error.
        if (e.syscall === 'open' && VANISHED.has(code)) return { ipv4: emptyStates(), ipv6: emptyStates(), skipped: 0, errors: [], failed: true, ipv6Skipped: false, source: 'netlink' };
        if (e.syscall === 'setns' && DENIED.has(code)) {
          this.#addon = null;
          this.#reason = `setns was refused (${code})`;
          this.#warnOnce(
            'denied',
            `netlink sock_diag cannot enter network namespaces (${e.message}): per-state counts of namespaces from /proc/PID/net/tcp and tcp6 from now on (give CAP_SYS_ADMIN for the cheaper walk, docs/namespaces.md)`,
          );
        } else this.#warnOnce(`fail-${code}`, `netlink sock_diag walk failed (${e.message}): that namespace walked through /proc this time (further ${code} failures are not logged)`);
      }
    }
    const w = walkTcp(root, 0, () => noIpv6Sockets(root));
    return { ipv4: w.ipv4, ipv6: w.ipv6, skipped: w.skipped, errors: w.errors, failed: w.failed, ipv6Skipped: w.ipv6Skipped, source: 'proc' };
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }
}
