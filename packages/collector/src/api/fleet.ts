/**
 * The fleet's current state in memory: each host's latest stored snapshot, loaded from the
 * latest table at start and updated after every commit. Fleet-wide queries (hosts, total, top)
 * read only this, so they cost the same whatever the length of history.
 *
 * A host is stale when the collector has received nothing from it for three of its intervals;
 * stale hosts are listed but left out of totals.
 */
import { TCP_STATES, addStates, emptyStates } from '@tcpfleet/common';
import type { StateCounts, SsSummary, TcpStateName } from '@tcpfleet/common';
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

export class Fleet {
  readonly #latest = new Map<string, StoredSnapshot>();

  /** Replaces the view with what the store holds. */
  load(rows: readonly StoredSnapshot[]): void {
    this.#latest.clear();
    for (const r of rows) this.#latest.set(r.host, r);
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
        continue;
      }
      this.#latest.set(item.host, { ...newest, host: item.host, labels: item.labels, recv_ts: recvTs });
    }
  }

  /** Every host, sorted by name. */
  hosts(now: number): HostView[] {
    return [...this.#latest.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)).map((s) => ({ ...s, stale: isStale(s, now) }));
  }

  /** One host, or null. */
  host(name: string, now: number): HostView | null {
    const s = this.#latest.get(name);
    return s === undefined ? null : { ...s, stale: isStale(s, now) };
  }

  /** Number of hosts known. */
  get size(): number {
    return this.#latest.size;
  }

  /** Sums over live hosts. */
  total(now: number, match?: (s: StoredSnapshot) => boolean): FleetTotal {
    const states = emptyStates();
    const summary: SsSummary = { total: 0, estab: 0, closed: 0, orphaned: 0, timewait: 0 };
    let hosts = 0;
    let stale = 0;
    for (const s of this.#latest.values()) {
      if (match !== undefined && !match(s)) continue;
      if (isStale(s, now)) {
        stale++;
        continue;
      }
      hosts++;
      addStates(states, s.states);
      summary.total += s.summary.total;
      summary.estab += s.summary.estab;
      summary.closed += s.summary.closed;
      summary.orphaned += s.summary.orphaned;
      summary.timewait += s.summary.timewait;
    }
    return { hosts, stale, states, summary };
  }

  /** Live hosts ranked by one state. */
  topHosts(state: TcpStateName, limit: number, now: number): { host: string; labels: Record<string, string>; value: number; states: StateCounts; ts: number }[] {
    return [...this.#latest.values()]
      .filter((s) => !isStale(s, now))
      .map((s) => ({ host: s.host, labels: s.labels, value: s.states[state], states: s.states, ts: s.ts }))
      .sort((a, b) => b.value - a.value || (a.host < b.host ? -1 : 1))
      .slice(0, limit);
  }

  /** Listening ports (by) or remote peers ranked by one state, summed over live hosts' breakdowns. */
  topBreakdown(by: 'port' | 'peer', state: TcpStateName, limit: number, now: number): { addr?: string; port: number; value: number; states: StateCounts; hosts: number }[] {
    const groups = new Map<string, { addr?: string; port: number; states: StateCounts; hosts: number }>();
    for (const s of this.#latest.values()) {
      if (isStale(s, now) || s.breakdown === undefined) continue;
      const entries: { key: string; addr?: string; port: number; states: StateCounts }[] =
        by === 'port' ? s.breakdown.inbound.map((e) => ({ key: String(e.port), port: e.port, states: e.states })) : s.breakdown.outbound.map((e) => ({ key: `${e.addr}|${e.port}`, addr: e.addr, port: e.port, states: e.states }));
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

/** True when `name` is a state name accepted by --state. */
export function parseStateName(name: string): TcpStateName | null {
  return (TCP_STATES as readonly string[]).includes(name) ? (name as TcpStateName) : null;
}
