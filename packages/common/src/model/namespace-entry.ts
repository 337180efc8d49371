/**
 * One network namespace other than the host's, as the agent reports it with --namespaces
 * (snapshot field `namespaces`, issue 10). Field names are a contract; docs/namespaces.md says
 * what every number means. No zod here: the agent loads this file.
 */
import type { StateCounts } from './tcp-state.js';
import type { Sockstat, SsSummary } from './fields.js';
import type { Counters } from '../proc/header-value-pairs.js';

/** Container runtimes told apart by their cgroup names; `unknown` for the kubelet's cgroupfs driver. */
export const CONTAINER_RUNTIMES = ['docker', 'containerd', 'cri-o', 'podman', 'unknown'] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];

/** Who holds a namespace, from the cgroup of its processes and local name sources. */
export interface ContainerIdentity {
  runtime: ContainerRuntime;
  /** Container id (lowercase hex) of the container named here. */
  id: string;
  /** Kubernetes pod uid, with dashes (the systemd driver's underscores turned back). */
  pod_uid?: string;
  /** Pod name, its Kubernetes namespace and the container's name (Kubernetes log file names). */
  pod?: string;
  namespace?: string;
  /** Container name: Kubernetes container name, or the Docker name as `docker ps` shows it. */
  name?: string;
  /** Ids of the other containers seen in this network namespace (containers of one pod share it). */
  other_ids?: string[];
}

/** How an entry's figures were obtained. */
export interface NamespaceCollect {
  /** Age in ms of states/ipv4/ipv6: 0 when net/tcp and net/tcp6 were walked for this snapshot. */
  states_age_ms: number;
  /**
   * True when the per-state counts are proven current: walked for this snapshot, or none of the
   * namespace's cheap counters that every transition moves (snmp Tcp, sockstat inuse/tw, and
   * TcpExt TCPTimeouts while request sockets exist) moved since the walk.
   */
  states_unchanged: boolean;
  /** Lines of net/tcp and net/tcp6 that did not parse in that walk. */
  skipped: number;
  /** Problems reading this namespace (bounded). */
  errors: string[];
}

/** What one network namespace's files give: the top level of a snapshot, and each namespace entry. */
export interface NamespaceCounts {
  /** Counts by state over tcp and tcp6 (all twelve states), and by family. */
  states: StateCounts;
  ipv4: StateCounts;
  ipv6: StateCounts;
  /** The TCP line of `ss -s`. */
  summary: SsSummary;
  sockstat: Sockstat;
  /** The Tcp counters of net/snmp. */
  snmp: Counters;
}

/**
 * One network namespace's counts: states, ipv4, ipv6, summary, sockstat and snmp as at the top
 * level of a snapshot, of this namespace (snmp: its own Tcp counters).
 */
export interface NamespaceEntry extends NamespaceCounts {
  /** Inode number of the namespace (`stat -L /proc/PID/ns/net`), unique while it exists. */
  netns: number;
  /** The process through which it was read (kept while it lives in the namespace). */
  pid: number;
  container: ContainerIdentity | null;
  collect: NamespaceCollect;
}

/** What the namespace part of one snapshot found and cost (snapshot collect.namespaces). */
export interface NamespacesCollect {
  /** Namespaces found other than the host's. */
  found: number;
  /** Entries in `namespaces`. */
  reported: number;
  /** Namespaces beyond --max-namespaces: found, not read. */
  overflow: number;
  /** Found and within the limit but never walked yet (the budget deferred them): no entry yet. */
  pending: number;
  /** Namespaces whose net/tcp and net/tcp6 were walked for this snapshot. */
  walked: number;
  /** Entries not walked whose counts are proven current (states_unchanged). */
  unchanged: number;
  /** Entries not walked whose counters moved since their walk: counts older than this snapshot. */
  stale: number;
  /** Wall-clock and CPU milliseconds of the namespace part (discovery, reads, walks). */
  ms: number;
  cpu_ms: number;
  /** Problems of the namespace part as a whole (bounded). */
  errors: string[];
}

/** Limits of names read from files and of the lists in an entry. */
export const NAMESPACE_LIMITS = {
  podLength: 253,
  namespaceLength: 63,
  nameLength: 253,
  idLength: 128,
  otherIds: 16,
  errors: 4,
} as const;

/** Limits of the `namespaces` part of a snapshot on the wire (both encodings; the collector refuses more). */
export const NAMESPACE_WIRE_LIMITS = {
  /** Entries in one snapshot's `namespaces` (the agent's --max-namespaces is at most this). */
  entries: 4096,
  /** Characters of one error text (an entry's collect.errors, collect.namespaces.errors). */
  errorLength: 512,
  /** Highest pid a kernel gives (PID_MAX_LIMIT on 64-bit). */
  pidMax: 4_194_304,
  /** Characters of a pod uid. */
  podUidLength: 64,
} as const;

/** The welcome's `features` entry of a collector that accepts `namespaces` (JSON and bin1): an agent sends them only to such a collector. */
export const NAMESPACES_FEATURE = 'ns1';

/** Container ids: lowercase hex, 12 to 128 digits. */
export const CONTAINER_ID_PATTERN = new RegExp(`^[0-9a-f]{12,${NAMESPACE_LIMITS.idLength}}$`);
export const CONTAINER_ID_MESSAGE = `container id: 12 to ${NAMESPACE_LIMITS.idLength} lowercase hex digits`;
/** Kubernetes pod uids as the agent reports them: lowercase hex and dashes. */
export const POD_UID_PATTERN = /^[0-9a-f][0-9a-f-]{7,63}$/;
export const POD_UID_MESSAGE = 'pod_uid: lowercase hex digits and -';
export const CONTAINER_NAME_MESSAGE = 'no control characters, bidi or invisible formatting marks';

/**
 * Names from files are checked like label values and more: no C0/C1 control characters, no
 * bidirectional or invisible formatting marks (which could make a name print as another).
 */
export const NAME_PATTERN = /^[^\p{Cc}\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+$/u;

/** A name read from a file, or undefined when it is empty, too long or holds a forbidden character. */
export function checkedName(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length <= max && NAME_PATTERN.test(v) ? v : undefined;
}
