/**
 * The fleet's current state in memory: each host's latest stored snapshot, loaded from the
 * latest table at start and updated after every commit. Fleet-wide queries (hosts, total, top)
 * read only this, so they cost the same whatever the length of history.
 *
 * A host is stale when the collector has received nothing from it for three of its intervals;
 * stale hosts are listed but left out of totals.
 */
import { PackedSnapshot, SUMMARY_KEYS, TCP_STATES, addStates, emptyStates, isStateName } from '@tcpfleet/common';
import type { Selector, Snapshot, StateCounts, SsSummary, TcpStateName } from '@tcpfleet/common';
import type { IngestItem, StoredSnapshot } from '../store/store.js';

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

export function isStale(s: StoredSnapshot, now: number): boolean {
  return now - s.recv_ts > STALE_INTERVALS * s.interval_ms;
}

/** Numbers in a running sum: the states, then the ss summary. */
export const N_SUM = TCP_STATES.length + SUMMARY_KEYS.length;

/**
 * A snapshot's states and summary as numbers in running-sum order (read once per commit of the
 * host), into `v`: each host's array is rewritten in place, not made anew every commit (at 10,000
 * hosts a second, 10,000 small ArrayBuffers a second that live until a full GC).
 */
function countsOf(s: StoredSnapshot, v: Float64Array = new Float64Array(N_SUM)): Float64Array {
  for (let i = 0; i < TCP_STATES.length; i++) v[i] = s.states[TCP_STATES[i]!];
  for (let i = 0; i < SUMMARY_KEYS.length; i++) v[TCP_STATES.length + i] = s.summary[SUMMARY_KEYS[i]!];
  return v;
}

/** Adds (sign 1) or subtracts (sign -1) a host's counts (countsOf) to a running sum. */
export function addCounts(into: Float64Array, counts: Float64Array, sign: number): void {
  for (let i = 0; i < N_SUM; i++) into[i]! += sign * counts[i]!;
}

/**
 * A committed snapshot as the host's view. A bin1 snapshot (PackedSnapshot, decoded by this
 * collector for this commit) becomes the view itself, so its counters and breakdown stay packed
 * until a query reads them; a plain one is copied.
 */
function asView(s: Snapshot, host: string, labels: Record<string, string>, recvTs: number): HostView {
  if (s instanceof PackedSnapshot) {
    s.host = host;
    s.labels = labels;
    s.recv_ts = recvTs;
    s.stale = false;
    return s as unknown as HostView;
  }
  return { ...s, host, labels, recv_ts: recvTs, stale: false };
}

/**
 * A stored row as the host's view: a PackedSnapshot (what the stores' latest() give,
 * store/stored-row.ts) becomes the view itself, as in asView (spreading it would drop its lazy
 * counters and breakdown); a plain row is copied.
 */
function rowView(r: StoredSnapshot): HostView {
  if (r instanceof PackedSnapshot) {
    r.stale = false;
    return r as unknown as HostView;
  }
  return { ...r, stale: false };
}

/** A small, fixed-shape record per host, so fleet-wide loops never touch the big snapshot objects. */
class Entry {
  view: HostView;
  host: string;
  states: StateCounts;
  labels: Record<string, string>;
  /** The view's states and summary, in running-sum order: fleet-wide sums add these typed arrays. */
  counts: Float64Array;
  deadline: number;
  constructor(view: HostView, host: string, counts: Float64Array, deadline: number) {
    this.view = view;
    this.host = host;
    this.states = view.states;
    this.labels = view.labels;
    this.counts = counts;
    this.deadline = deadline;
  }
}

/** A host as a fleet-wide scan sees it (Fleet.scan). */
export interface ScannedHost {
  readonly view: HostView;
  readonly labels: Readonly<Record<string, string>>;
  readonly states: StateCounts;
  /** States then summary, in TCP_STATES and SUMMARY_KEYS order (for addCounts). */
  readonly counts: Float64Array;
}

export class Fleet {
  /** Each host's latest snapshot as a HostView whose `stale` hosts() refreshes in place. */
  readonly #latest = new Map<string, HostView>();
  readonly #entries = new Map<string, Entry>();
  /** Sums over every host, kept up to date on each change, so total() only subtracts the stale. */
  readonly #sum = new Float64Array(N_SUM);
  /** Hosts sorted by name; rebuilt when a host appears, entries updated in place. */
  #sorted: Entry[] | null = null;

  #set(host: string, snap: HostView): void {
    this.#latest.set(host, snap);
    const deadline = snap.recv_ts + STALE_INTERVALS * snap.interval_ms;
    const e = this.#entries.get(host);
    if (e === undefined) {
      const counts = countsOf(snap);
      addCounts(this.#sum, counts, 1);
      this.#entries.set(host, new Entry(snap, host, counts, deadline));
      this.#sorted = null;
    } else {
      addCounts(this.#sum, e.counts, -1);
      countsOf(snap, e.counts);
      addCounts(this.#sum, e.counts, 1);
      e.view = snap;
      e.states = snap.states;
      e.labels = snap.labels;
      e.deadline = deadline;
    }
  }

  /** Replaces the view with what the store holds. */
  load(rows: readonly StoredSnapshot[]): void {
    this.#latest.clear();
    this.#entries.clear();
    this.#sum.fill(0);
    this.#sorted = null;
    for (const r of rows) this.#set(r.host, rowView(r));
  }

  /** Applies committed batches. */
  apply(items: readonly IngestItem[], recvTs: number): void {
    for (const item of items) {
      let newest = item.snapshots[0];
      for (const s of item.snapshots) if (newest === undefined || s.ts >= newest.ts) newest = s;
      if (newest === undefined) continue;
      const cur = this.#latest.get(item.host);
      if (cur !== undefined && cur.ts > newest.ts) {
        cur.recv_ts = recvTs;
        const e = this.#entries.get(item.host);
        if (e !== undefined) e.deadline = recvTs + STALE_INTERVALS * cur.interval_ms;
        continue;
      }
      this.#set(item.host, asView(newest, item.host, item.labels, recvTs));
    }
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
      this.#set(r.host, rowView(r));
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
    const cur = this.#latest.get(host);
    if (cur === undefined || ts > cur.ts) return false;
    if (recvTs > cur.recv_ts) {
      cur.recv_ts = recvTs;
      const e = this.#entries.get(host);
      if (e !== undefined) e.deadline = recvTs + STALE_INTERVALS * cur.interval_ms;
    }
    return true;
  }

  /**
   * Every host, or those the selector matches, sorted by name (the views are shared: serialise
   * them, do not keep them).
   */
  hosts(now: number, sel: Selector | null = null): HostView[] {
    this.#sorted ??= [...this.#entries.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
    const out: HostView[] = sel === null ? new Array<HostView>(this.#sorted.length) : [];
    for (let i = 0; i < this.#sorted.length; i++) {
      const e = this.#sorted[i]!;
      if (sel !== null && !sel.matches(e.labels)) continue;
      const stale = now > e.deadline;
      if (e.view.stale !== stale) e.view.stale = stale;
      if (sel === null) out[i] = e.view;
      else out.push(e.view);
    }
    return out;
  }

  /** Calls `fn` for each host the selector matches (every host when null), in no set order, with its staleness. */
  scan(now: number, sel: Selector | null, fn: (h: ScannedHost, stale: boolean) => void): void {
    for (const e of this.#entries.values()) if (sel === null || sel.matches(e.labels)) fn(e, now > e.deadline);
  }

  /** One host, or null. */
  host(name: string, now: number): HostView | null {
    const s = this.#latest.get(name);
    if (s === undefined) return null;
    const stale = isStale(s, now);
    return s instanceof PackedSnapshot ? { ...(s.toObject() as StoredSnapshot), stale } : { ...s, stale };
  }

  /** Number of hosts known. */
  get size(): number {
    return this.#latest.size;
  }

  /** True when the host is in the fleet. */
  has(name: string): boolean {
    return this.#latest.has(name);
  }

  /**
   * Drops a host removed at `at` (tcpfleet host rm, serve --forget-after); kept when something
   * of it was received after that (its agent still runs and wrote its latest row again).
   */
  forget(name: string, at: number): boolean {
    const s = this.#latest.get(name);
    const e = this.#entries.get(name);
    if (s === undefined || e === undefined || s.recv_ts > at) return false;
    addCounts(this.#sum, e.counts, -1);
    this.#latest.delete(name);
    this.#entries.delete(name);
    this.#sorted = null;
    return true;
  }

  /** Up to `limit` hosts from which nothing was received since `before`. */
  silentSince(before: number, limit: number): string[] {
    const out: string[] = [];
    for (const [name, s] of this.#latest) {
      if (out.length >= limit) break;
      if (s.recv_ts < before) out.push(name);
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
    return totalOf(this.#latest.size - stale, stale, sum);
  }

  /** Live hosts (those the selector matches, when there is one) ranked by one state. */
  topHosts(state: TcpStateName, limit: number, now: number, sel: Selector | null = null): { host: string; labels: Record<string, string>; value: number; states: StateCounts; ts: number }[] {
    // One pass keeping the best `limit` (small limits), instead of sorting every host.
    const better = (a: Entry, b: Entry): boolean => a.states[state] > b.states[state] || (a.states[state] === b.states[state] && a.host < b.host);
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
    return best.map(({ view: s }) => ({ host: s.host, labels: s.labels, value: s.states[state], states: s.states, ts: s.ts }));
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
    for (const s of this.#latest.values()) {
      if (isStale(s, now) || s.breakdown === undefined || (sel !== null && !sel.matches(s.labels))) continue;
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
