/**
 * Alert rules of `scope: container` (issue 10): each network namespace other than the host's
 * (snapshot field `namespaces`, model/namespace-entry.ts) is evaluated alone, as its own series
 * keyed by (host, netns). This file owns what is particular to them:
 *
 *   - which metric paths a namespace entry can answer (no netstat; not the host-wide figures);
 *   - `match` on the container (pod, namespace, container, runtime; `*` globs) and host labels;
 *   - the alert key `HOST netns=N` (a space never occurs in a host id) and the evidence, which
 *     names the namespace, its container and its per-state counts;
 *   - the per-(host, netns) sample series, kept in memory, bounded, dropped with the namespace.
 */
import { SECTIONS, TCP_STATES } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, Snapshot, StateCounts } from '@tcpfleet/common';
import { HostSeries } from './host-series.js';
import type { Metric, SampleKeys } from './metric.js';

/** `match` keys of a container rule that name the container; every other key is a host label. */
const CONTAINER_MATCH_KEYS = ['pod', 'namespace', 'container', 'runtime'] as const;
type ContainerMatchKey = (typeof CONTAINER_MATCH_KEYS)[number];

/** The container part of a container rule's `match`, each value compiled (`*` matches any run of characters). */
export type ContainerMatch = Readonly<Partial<Record<ContainerMatchKey, RegExp>>>;

/** Figures of a namespace entry that are not the namespace's own (the field table's scope host or mixed: docs/namespaces.md). */
const HOST_WIDE: ReadonlyMap<string, readonly string[]> = new Map(
  SECTIONS.flatMap((sec) => (sec.key === null ? [] : [[sec.key, sec.fields.filter((f) => f.scope !== 'netns').map((f) => f.name)] as const])),
);

/** Why a container rule cannot read `m`, or null when it can. */
export function containerMetricProblem(m: Metric): string | null {
  if (m.section === 'netstat') return 'a namespace entry carries no netstat (TcpExt) counters: use states.X, ipv4.X, ipv6.X, summary.estab/timewait, sockstat.X or snmp.X';
  if (HOST_WIDE.get(m.section)?.includes(m.key)) return `${m.section}.${m.key} is host-wide (the same in every namespace), not the namespace's own: use it in a host rule`;
  return null;
}

/** Splits a rule's `match` into host labels and the compiled container part. */
export function splitMatch(match: Readonly<Record<string, string>>): { labels: Record<string, string>; container: ContainerMatch } {
  const labels: Record<string, string> = {};
  const container: Partial<Record<ContainerMatchKey, RegExp>> = {};
  for (const [k, v] of Object.entries(match)) {
    if ((CONTAINER_MATCH_KEYS as readonly string[]).includes(k)) container[k as ContainerMatchKey] = globRegExp(v);
    else labels[k] = v;
  }
  return { labels, container };
}

/** A glob of `*` (any run of characters) as an anchored regular expression. */
function globRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'u',
  );
}

/** True when the namespace's container has every field the match names (a namespace without a container has none). */
export function matchesContainer(c: ContainerIdentity | null, m: ContainerMatch): boolean {
  for (const k of CONTAINER_MATCH_KEYS) {
    const re = m[k];
    if (re === undefined) continue;
    const v = c === null ? undefined : k === 'container' ? c.name : k === 'runtime' ? c.runtime : c[k];
    if (v === undefined || !re.test(v)) return false;
  }
  return true;
}

const KEY_SEP = ' netns=';

/** The alert key of a namespace of a host. */
export function containerKey(host: string, netns: number): string {
  return `${host}${KEY_SEP}${netns}`;
}

/** True for the key of a container alert. */
export function isContainerKey(key: string): boolean {
  return key.includes(KEY_SEP);
}

/** What a container alert shows of its namespace: who holds it and its per-state counts, when it fired. */
export interface NamespaceEvidence {
  netns: number;
  pid: number;
  container: ContainerIdentity | null;
  states: StateCounts;
  /** How old `states` were (collect.states_age_ms), and whether they were proven current. */
  states_age_ms: number;
  states_unchanged: boolean;
}

/** The evidence of a namespace entry. */
export function namespaceEvidence(e: NamespaceEntry): NamespaceEvidence {
  return { netns: e.netns, pid: e.pid, container: e.container, states: e.states, states_age_ms: e.collect.states_age_ms, states_unchanged: e.collect.states_unchanged };
}

/** True for a container alert's evidence (a host alert's is a breakdown). */
export function isNamespaceEvidence(e: unknown): e is NamespaceEvidence {
  return typeof e === 'object' && e !== null && typeof (e as { netns?: unknown }).netns === 'number';
}

/** Who a namespace is, in a few words: `pod shop/web-1 container nginx (containerd 3f1c2a…)` or `netns 4026532463`. */
export function namespaceText(ev: NamespaceEvidence): string {
  const c = ev.container;
  if (c === null) return `netns ${ev.netns}`;
  const parts: string[] = [];
  if (c.pod !== undefined) parts.push(`pod ${c.namespace === undefined ? '' : `${c.namespace}/`}${c.pod}`);
  if (c.name !== undefined) parts.push(`container ${c.name}`);
  parts.push(`(${c.runtime} ${c.id.slice(0, 12)}, netns ${ev.netns})`);
  return parts.join(' ');
}

/** One line of the states that are not zero, biggest first (for logs and Slack). */
export function statesText(s: StateCounts, n = 4): string {
  return TCP_STATES.filter((st) => s[st] > 0)
    .sort((a, b) => s[b] - s[a])
    .slice(0, n)
    .map((st) => `${st} ${s[st]}`)
    .join(', ');
}

/** Samples kept per namespace series at most (a host's series keeps up to 20,000). */
const MAX_NAMESPACE_SAMPLES = 2_000;
/** Namespace series kept per host at most: more than an agent's --max-namespaces default (512). */
export const MAX_NAMESPACES_PER_HOST = 2_048;

/** One namespace's series: its samples (as a host's) and its latest entry. */
export interface NamespaceSeries {
  readonly key: string;
  readonly series: HostSeries;
  entry: NamespaceEntry;
}

/**
 * The series of every (host, netns) that some container rule may read, in memory. A namespace
 * absent from a host's newer snapshot (it disappeared, or the agent stopped sending namespaces)
 * is dropped with its samples; so is every namespace of a host whose rules no longer want it.
 */
export class NamespaceSeriesSet {
  readonly #byHost = new Map<string, { newest: number; series: Map<number, NamespaceSeries> }>();

  /**
   * Adds the namespaces of one snapshot of `host` that `wanted` selects. Returns each new sample
   * (series and index; index -1 when that sample was already known) and the keys of the
   * namespaces dropped because this snapshot no longer lists them. A snapshot older than the
   * newest seen adds history only and drops nothing.
   */
  observe(host: HostSeries, s: Snapshot, keepMs: number, keys: SampleKeys, wanted: (e: NamespaceEntry) => boolean): { added: { ns: NamespaceSeries; index: number }[]; gone: string[] } {
    let h = this.#byHost.get(host.host);
    const entries = s.namespaces ?? [];
    if (h === undefined) {
      if (entries.length === 0) return { added: [], gone: [] };
      h = { newest: 0, series: new Map() };
      this.#byHost.set(host.host, h);
    }
    const m = h.series;
    const current = s.ts >= h.newest;
    if (current) h.newest = s.ts;
    const seen = new Set<number>();
    const added: { ns: NamespaceSeries; index: number }[] = [];
    for (const e of entries) {
      if (!wanted(e)) continue;
      seen.add(e.netns);
      let ns = m.get(e.netns);
      if (ns === undefined) {
        if (m.size >= MAX_NAMESPACES_PER_HOST) continue;
        ns = { key: containerKey(host.host, e.netns), series: new HostSeries(host.host, host.labels, host.lastRecv, host.intervalMs, host.connectedAt, MAX_NAMESPACE_SAMPLES), entry: e };
        m.set(e.netns, ns);
      }
      if (current) ns.entry = e;
      const index = ns.series.add(asSample(s, e), keepMs, keys);
      added.push({ ns, index });
    }
    const gone: string[] = [];
    if (current) {
      for (const [netns, ns] of m) {
        if (seen.has(netns)) continue;
        m.delete(netns);
        gone.push(ns.key);
      }
      if (m.size === 0) this.#byHost.delete(host.host);
    }
    return { added, gone };
  }

  /** Forgets every series (rules changed: what is wanted is decided again on the next snapshots). */
  clear(): void {
    this.#byHost.clear();
  }

  /** Number of series kept (for tests and health). */
  get size(): number {
    let n = 0;
    for (const h of this.#byHost.values()) n += h.series.size;
    return n;
  }
}

const NO_COUNTERS = Object.freeze({}) as Record<string, number>;

/** A namespace entry as a sample of the snapshot it came in: the host's time and boot, the entry's numbers. */
function asSample(s: Snapshot, e: NamespaceEntry): Snapshot {
  return { ts: s.ts, boot: s.boot, states: e.states, ipv4: e.ipv4, ipv6: e.ipv6, summary: e.summary, sockstat: e.sockstat, snmp: e.snmp, netstat: NO_COUNTERS } as Snapshot;
}
