/**
 * The fleet's current state in memory: each host's latest stored snapshot, loaded from the
 * latest table at start and updated after every commit. Fleet-wide queries (hosts, total, top)
 * read only this, so they cost the same whatever the length of history.
 *
 * A host is stale when the collector has received nothing from it for three of its intervals;
 * stale hosts are listed but left out of totals.
 */
import { PackedSnapshot, SUMMARY_KEYS, TCP_STATES, addStates, decodeFixedValues, emptyStates, isStateName, stateNumber } from '@tcpfleet/common';
import type { NamespaceEntry, PackedLayout, Selector, Snapshot, StateCounts, SsSummary, TcpStateName } from '@tcpfleet/common';
import type { IngestItem, StoredSnapshot } from '../store/store.js';
import { packedFromFixed } from '../store/stored-row.js';

/** Intervals without data after which a host is stale. */
export const STALE_INTERVALS = 3;

/** A host's latest snapshot with its staleness. */
export type HostView = StoredSnapshot & { stale: boolean };

/** The fleet total, as `tcpfleet total --json` prints it. */
export interface FleetTotal {
  hosts: number;
  stale: number;
  states: StateCounts;
  summary: SsSummary;
}

/** Numbers in a running sum: the states, then the ss summary. */
export const N_SUM = TCP_STATES.length + SUMMARY_KEYS.length;

/**
 * A snapshot's states and summary as numbers in running-sum order (read once per commit of the
 * host), into `v`: each host's array is rewritten in place, not made anew every commit (at 10,000
 * hosts a second, 10,000 small ArrayBuffers a second that live until a full GC).
 */
function countsOf(s: Snapshot, v: Float64Array = new Float64Array(N_SUM)): Float64Array {
  for (let i = 0; i < TCP_STATES.length; i++) v[i] = s.states[TCP_STATES[i]!];
  for (let i = 0; i < SUMMARY_KEYS.length; i++) v[TCP_STATES.length + i] = s.summary[SUMMARY_KEYS[i]!];
  return v;
}

/** Adds (sign 1) or subtracts (sign -1) a host's counts (countsOf) to a running sum. */
export function addCounts(into: Float64Array, counts: Float64Array, sign: number): void {
  for (let i = 0; i < N_SUM; i++) into[i]! += sign * counts[i]!;
}

/** What a host's view is rebuilt from: a bin1 snapshot's numbers and bytes, copied (PackedSnapshot.packed). */
class PackedCopy {
  layout: PackedLayout;
  /** The values blob (bytes [0, valuesLen) of `bytes`), then the breakdown (breakdownLen bytes; -1: none). */
  bytes: Uint8Array;
  valuesLen = 0;
  breakdownLen = -1;
  countersAt = 0;
  seq = 0;
  boot = '';
  /** collect.errors when there were any (else an empty array is made with the view). */
  errors: string[] | null = null;
  /** collect.namespaces and the entries, with --namespaces (plain objects, kept as they came). */
  collectNs: unknown = undefined;
  namespaces: NamespaceEntry[] | undefined = undefined;
  constructor(layout: PackedLayout, size: number) {
    this.layout = layout;
    this.bytes = new Uint8Array(size);
  }
}

/**
 * A host of the fleet. A bin1 snapshot (PackedSnapshot) is not kept: its numbers are in `counts`
 * and its bytes are copied into `packed` (one buffer a host, written over while it fits and no
 * view of it was handed out), and the view is rebuilt from them only when a query asks (`view`,
 * dropped at the host's next commit). Keeping the snapshot object itself (and its states, summary,
 * collect... objects and the pooled bytes it pins) for the second until the next one made every
 * snapshot outlive the young generation: each was copied and promoted by the collector's GC only
 * to die in old space. A plain snapshot (JSON agent) is kept as its view, as before.
 */
class Entry {
  readonly host: string;
  labels: Record<string, string>;
  /** The snapshot's states and summary, in running-sum order: fleet-wide sums add these typed arrays. */
  readonly counts: Float64Array;
  ts = 0;
  recvTs = 0;
  intervalMs = 0;
  deadline = 0;
  /** The view handed out or kept (plain snapshots), or null until a query builds it. */
  view: HostView | null = null;
  packed: PackedCopy | null = null;
  constructor(host: string) {
    this.host = host;
    this.labels = {};
    this.counts = new Float64Array(N_SUM);
  }
}

/** A host as a fleet-wide scan sees it (Fleet.scan). */
export interface ScannedHost {
  readonly host: string;
  readonly labels: Readonly<Record<string, string>>;
  /** States then summary, in TCP_STATES and SUMMARY_KEYS order (for addCounts). */
  readonly counts: Float64Array;
}

/** A live host's namespace entries (Fleet.liveNamespaces). */
export interface LiveNamespaces {
  readonly host: string;
  /** The snapshot time of the host's latest snapshot. */
  readonly ts: number;
  readonly namespaces: readonly NamespaceEntry[];
}

export class Fleet {
  readonly #entries = new Map<string, Entry>();
  /** Sums over every host, kept up to date on each change, so total() only subtracts the stale. */
  readonly #sum = new Float64Array(N_SUM);
  /** Hosts sorted by name; rebuilt when a host appears, entries updated in place. */
  #sorted: Entry[] | null = null;

  /** The entries sorted by host name (made again only after a host came or went). */
  #byName(): Entry[] {
    return (this.#sorted ??= [...this.#entries.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)));
  }

  /** Makes `s` the host's latest snapshot (received at `recvTs`). */
  #set(host: string, s: Snapshot, labels: Record<string, string>, recvTs: number): void {
    let e = this.#entries.get(host);
    if (e === undefined) {
      e = new Entry(host);
      this.#entries.set(host, e);
      this.#sorted = null;
    } else addCounts(this.#sum, e.counts, -1);
    countsOf(s, e.counts);
    addCounts(this.#sum, e.counts, 1);
    e.labels = labels;
    e.ts = s.ts;
    e.recvTs = recvTs;
    e.intervalMs = s.interval_ms;
    e.deadline = recvTs + STALE_INTERVALS * s.interval_ms;
    const p = PackedSnapshot.packed(s);
    if (p === undefined) {
      // A plain snapshot (a JSON agent's, or a row stored from one): kept as its view.
      e.packed = null;
      e.view = { ...s, host, labels, recv_ts: recvTs, stale: false };
      return;
    }
    const size = p.values.length + (p.breakdown?.length ?? 0);
    // A view handed out since the last commit may still be read (a list streamed in slices): its
    // bytes are left as they are. Else written over while they fit (an eighth more room, as the
    // varints and the breakdown of a host vary a little from one snapshot to the next).
    let c = e.packed;
    if (c === null || e.view !== null || c.bytes.length < size) c = new PackedCopy(p.layout, size + (size >> 3));
    c.layout = p.layout;
    c.bytes.set(p.values, 0);
    c.valuesLen = p.values.length;
    if (p.breakdown === null) c.breakdownLen = -1;
    else {
      c.bytes.set(p.breakdown, p.values.length);
      c.breakdownLen = p.breakdown.length;
    }
    c.countersAt = p.countersAt;
    c.seq = s.seq;
    c.boot = s.boot;
    c.errors = s.collect.errors.length === 0 ? null : s.collect.errors;
    const ns = (s.collect as { namespaces?: unknown }).namespaces;
    c.collectNs = ns;
    c.namespaces = s.namespaces;
    e.packed = c;
    e.view = null;
  }

  /** The host's view, built from its copy when no query built it since its last commit. */
  #viewOf(e: Entry, stale: boolean): HostView {
    let v = e.view;
    if (v === null) {
      const c = e.packed!;
      const values = c.bytes.subarray(0, c.valuesLen);
      const f = decodeFixedValues(values, c.layout.snmp.length + c.layout.netstat.length);
      f.collect.errors = c.errors ?? [];
      if (c.collectNs !== undefined) (f.collect as { namespaces?: unknown }).namespaces = c.collectNs;
      const breakdown = c.breakdownLen < 0 ? null : c.bytes.subarray(c.valuesLen, c.valuesLen + c.breakdownLen);
      const snap = packedFromFixed(e.host, e.labels, { ts: e.ts, seq: c.seq, boot: c.boot }, f, { layout: c.layout, values, countersAt: c.countersAt, breakdown });
      if (c.namespaces !== undefined) snap.namespaces = c.namespaces;
      snap.recv_ts = e.recvTs;
      snap.stale = stale;
      v = snap as unknown as HostView;
      e.view = v;
    }
    if (v.stale !== stale) v.stale = stale;
    if (v.recv_ts !== e.recvTs) v.recv_ts = e.recvTs;
    return v;
  }

  /** Replaces the view with what the store holds. */
  load(rows: readonly StoredSnapshot[]): void {
    this.#entries.clear();
    this.#sum.fill(0);
    this.#sorted = null;
    for (const r of rows) this.#set(r.host, r, r.labels, r.recv_ts);
  }

  /** Applies committed batches. */
  apply(items: readonly IngestItem[], recvTs: number): void {
    for (const item of items) {
      let newest = item.snapshots[0];
      for (const s of item.snapshots) if (newest === undefined || s.ts >= newest.ts) newest = s;
      if (newest === undefined) continue;
      const e = this.#entries.get(item.host);
      if (e !== undefined && e.ts > newest.ts) {
        this.#received(e, recvTs);
        continue;
      }
      this.#set(item.host, newest, item.labels, recvTs);
    }
  }

  /** Something of the host's was received at `recvTs` that does not replace its snapshot. */
  #received(e: Entry, recvTs: number): void {
    e.recvTs = recvTs;
    e.deadline = recvTs + STALE_INTERVALS * e.intervalMs;
    if (e.view !== null) e.view.recv_ts = recvTs;
  }

  /**
   * Merges rows another collector stored (cluster/fleet-sync.ts): a host's row replaces the view
   * when it is newer (ts), or only moves its last receive time forward when it is the same
   * snapshot. Returns the rows that changed a host's snapshot.
   */
  merge(rows: readonly StoredSnapshot[]): StoredSnapshot[] {
    const changed: StoredSnapshot[] = [];
    for (const r of rows) {
      if (this.known(r.host, r.ts, r.recv_ts)) continue;
      this.#set(r.host, r, r.labels, r.recv_ts);
      changed.push(r);
    }
    return changed;
  }

  /**
   * True when the fleet holds `host` at snapshot time `ts` or newer, so a stored row of that ts
   * would change nothing (merge): its last receive time is moved forward to `recvTs` then. The
   * fleet sync asks this before a row is read whole (cluster/fleet-sync.ts).
   */
  known(host: string, ts: number, recvTs: number): boolean {
    const e = this.#entries.get(host);
    if (e === undefined || ts > e.ts) return false;
    if (recvTs > e.recvTs) this.#received(e, recvTs);
    return true;
  }

  /**
   * Every host, or those the selector matches, sorted by name (the views are shared and kept
   * until the host's next commit: serialise them, do not keep them).
   */
  hosts(now: number, sel: Selector | null = null): HostView[] {
    const sorted = this.#byName();
    const out: HostView[] = sel === null ? new Array<HostView>(sorted.length) : [];
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      if (sel !== null && !sel.matches(e.labels)) continue;
      const v = this.#viewOf(e, now > e.deadline);
      if (sel === null) out[i] = v;
      else out.push(v);
    }
    return out;
  }

  /** Calls `fn` for each host the selector matches (every host when null), in no set order, with its staleness. */
  scan(now: number, sel: Selector | null, fn: (h: ScannedHost, stale: boolean) => void): void {
    for (const e of this.#entries.values()) if (sel === null || sel.matches(e.labels)) fn(e, now > e.deadline);
  }

  /**
   * The namespace entries of live hosts (those the selector matches; one host when `host` is
   * given) that have any, sorted by host, without building their views (GET /api/v1/total asks
   * on every call).
   */
  liveNamespaces(now: number, sel: Selector | null, host: string | null = null): LiveNamespaces[] {
    const out: LiveNamespaces[] = [];
    for (const e of this.#byName()) {
      if (now > e.deadline || (host !== null && e.host !== host) || (sel !== null && !sel.matches(e.labels))) continue;
      const ns = e.packed !== null ? e.packed.namespaces : (e.view as Snapshot | null)?.namespaces;
      if (ns !== undefined && ns.length > 0) out.push({ host: e.host, ts: e.ts, namespaces: ns });
    }
    return out;
  }

  /** One host, or null. */
  host(name: string, now: number): HostView | null {
    const e = this.#entries.get(name);
    if (e === undefined) return null;
    const stale = now > e.deadline;
    const s = this.#viewOf(e, stale);
    return s instanceof PackedSnapshot ? { ...(s.toObject() as StoredSnapshot), stale } : { ...s, stale };
  }

  /** Number of hosts known. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when the host is in the fleet. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Drops a host removed at `at` (tcpfleet host rm, serve --forget-after); kept when something
   * of it was received after that (its agent still runs and wrote its latest row again).
   */
  forget(name: string, at: number): boolean {
    const e = this.#entries.get(name);
    if (e === undefined || e.recvTs > at) return false;
    addCounts(this.#sum, e.counts, -1);
    this.#entries.delete(name);
    this.#sorted = null;
    return true;
  }

  /** Up to `limit` hosts from which nothing was received since `before`. */
  silentSince(before: number, limit: number): string[] {
    const out: string[] = [];
    for (const [name, e] of this.#entries) {
      if (out.length >= limit) break;
      if (e.recvTs < before) out.push(name);
    }
    return out;
  }

  /** Sums over live hosts (those the selector matches, when there is one). */
  total(now: number, sel: Selector | null = null): FleetTotal {
    if (sel === null) return this.#fastTotal(now);
    const sum = new Float64Array(N_SUM);
    let hosts = 0;
    let stale = 0;
    for (const e of this.#entries.values()) {
      if (!sel.matches(e.labels)) continue;
      if (now > e.deadline) stale++;
      else {
        hosts++;
        addCounts(sum, e.counts, 1);
      }
    }
    return totalOf(hosts, stale, sum);
  }

  /** total() over every host: the running sums less the stale hosts' share. */
  #fastTotal(now: number): FleetTotal {
    const sum = Float64Array.from(this.#sum);
    let stale = 0;
    for (const e of this.#entries.values()) {
      if (now > e.deadline) {
        stale++;
        addCounts(sum, e.counts, -1);
      }
    }
    return totalOf(this.#entries.size - stale, stale, sum);
  }

  /** Live hosts (those the selector matches, when there is one) ranked by one state. */
  topHosts(state: TcpStateName, limit: number, now: number, sel: Selector | null = null): { host: string; labels: Record<string, string>; value: number; states: StateCounts; ts: number }[] {
    // The state's place in the counts (TCP_STATES order).
    const si = stateNumber(state) - 1;
    // One pass keeping the best `limit` (small limits), instead of sorting every host.
    const better = (a: Entry, b: Entry): boolean => a.counts[si]! > b.counts[si]! || (a.counts[si] === b.counts[si] && a.host < b.host);
    let best: Entry[] = [];
    if (limit <= 100) {
      for (const s of this.#entries.values()) {
        if (now > s.deadline || (sel !== null && !sel.matches(s.labels))) continue;
        if (best.length === limit && !better(s, best[limit - 1]!)) continue;
        let i = best.length;
        while (i > 0 && better(s, best[i - 1]!)) i--;
        best.splice(i, 0, s);
        if (best.length > limit) best.pop();
      }
    } else {
      best = [...this.#entries.values()]
        .filter((s) => now <= s.deadline && (sel === null || sel.matches(s.labels)))
        .sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0))
        .slice(0, limit);
    }
    return best.map((e) => {
      const s = this.#viewOf(e, false);
      return { host: s.host, labels: s.labels, value: s.states[state], states: s.states, ts: s.ts };
    });
  }

  /** Listening ports (by) or remote peers ranked by one state, summed over live hosts' breakdowns. */
  topBreakdown(
    by: 'port' | 'peer',
    state: TcpStateName,
    limit: number,
    now: number,
    sel: Selector | null = null,
  ): { addr?: string; port: number; value: number; states: StateCounts; hosts: number }[] {
    const groups = new Map<string, { addr?: string; port: number; states: StateCounts; hosts: number }>();
    for (const en of this.#entries.values()) {
      if (now > en.deadline || (sel !== null && !sel.matches(en.labels))) continue;
      if (en.packed !== null && en.packed.breakdownLen < 0) continue;
      const s = this.#viewOf(en, false);
      if (s.breakdown === undefined) continue;
      const entries: { key: string; addr?: string; port: number; states: StateCounts }[] =
        by === 'port'
          ? s.breakdown.inbound.map((e) => ({ key: String(e.port), port: e.port, states: e.states }))
          : s.breakdown.outbound.map((e) => ({ key: `${e.addr}|${e.port}`, addr: e.addr, port: e.port, states: e.states }));
      for (const e of entries) {
        let g = groups.get(e.key);
        if (g === undefined) {
          g = e.addr === undefined ? { port: e.port, states: emptyStates(), hosts: 0 } : { addr: e.addr, port: e.port, states: emptyStates(), hosts: 0 };
          groups.set(e.key, g);
        }
        addStates(g.states, e.states);
        g.hosts++;
      }
    }
    return [...groups.values()]
      .map((g) => ({ ...g, value: g.states[state] }))
      .sort((a, b) => b.value - a.value || a.port - b.port)
      .slice(0, limit);
  }
}

/** A FleetTotal from running sums (states, then summary, as addCounts() adds them). */
export function totalOf(hosts: number, stale: number, sum: Float64Array): FleetTotal {
  const states = emptyStates();
  TCP_STATES.forEach((st, i) => (states[st] = sum[i] ?? 0));
  const summary = {} as SsSummary;
  SUMMARY_KEYS.forEach((k, i) => (summary[k] = sum[TCP_STATES.length + i] ?? 0));
  return { hosts, stale, states, summary };
}

/** True when `name` is a state name accepted by --state. */
export function parseStateName(name: string): TcpStateName | null {
  return isStateName(name) ? name : null;
}
