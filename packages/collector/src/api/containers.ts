/**
 * Queries over the namespace entries (issue 10) of live hosts' latest snapshots, from the fleet in
 * memory (api/fleet.ts): they cost the same whatever the length of history.
 *
 *   GET /api/v1/containers[?host=&state=]   every entry as the agent sent it, with `host` added
 *   GET /api/v1/top?by=container&state=      entries ranked by one state
 *   GET /api/v1/total                        gains `namespaces` (namespacesTotal)
 *
 * Each socket belongs to exactly one network namespace: a host's own `states` and its entries'
 * `states` never count a socket twice, so the fleet total plus `namespaces` is every socket of
 * the live hosts.
 */
import { addStates, emptyStates } from '@tcpfleet/common';
import type { ContainerIdentity, NamespaceEntry, Selector, StateCounts, TcpStateName } from '@tcpfleet/common';
import type { Fleet, LiveNamespaces } from './fleet.js';

/** An entry as /api/v1/containers answers it. */
export type ContainerRow = { host: string } & NamespaceEntry;

/** A row of `top --by container`. */
export interface TopContainer {
  host: string;
  netns: number;
  container: ContainerIdentity | null;
  value: number;
  states: StateCounts;
  ts: number;
}

/** The sums of `total`'s `namespaces`: only the figures that are each namespace's own. */
export interface NamespacesTotal {
  /** Entries summed (namespaces other than the hosts' own, of live hosts). */
  count: number;
  states: StateCounts;
  /**
   * `ss -s` figures that are per namespace (estab = CurrEstab, timewait = sockstat tw); total,
   * closed and orphaned are host-wide in every entry (docs/namespaces.md) and already in the
   * hosts' own summary, so they are not summed.
   */
  summary: { estab: number; timewait: number };
}

/** Live hosts (optionally one of them; those a label selector matches) with their entries, by host, without building their views. */
function liveHosts(fleet: Fleet, now: number, sel: Selector | null, host: string | null = null): LiveNamespaces[] {
  return fleet.liveNamespaces(now, sel, host);
}

/** Every entry of live hosts, by host then netns; with `state`, ranked by that state (highest first). */
export function containerRows(fleet: Fleet, now: number, host: string | null, state: TcpStateName | null, sel: Selector | null = null): ContainerRow[] {
  const rows: ContainerRow[] = [];
  for (const v of liveHosts(fleet, now, sel, host)) for (const e of [...v.namespaces].sort((a, b) => a.netns - b.netns)) rows.push({ host: v.host, ...e });
  if (state !== null) rows.sort((a, b) => b.states[state] - a.states[state]);
  return rows;
}

/** Live hosts' entries ranked by one state (ties: host, then netns). */
export function topContainers(fleet: Fleet, state: TcpStateName, limit: number, now: number, sel: Selector | null = null): TopContainer[] {
  const all: TopContainer[] = [];
  for (const v of liveHosts(fleet, now, sel)) for (const e of v.namespaces) all.push({ host: v.host, netns: e.netns, container: e.container, value: e.states[state], states: e.states, ts: v.ts });
  all.sort((a, b) => b.value - a.value || (a.host < b.host ? -1 : a.host > b.host ? 1 : a.netns - b.netns));
  return all.slice(0, limit);
}

/** Sums over the entries of live hosts. */
export function namespacesTotal(fleet: Fleet, now: number, sel: Selector | null = null): NamespacesTotal {
  const t: NamespacesTotal = { count: 0, states: emptyStates(), summary: { estab: 0, timewait: 0 } };
  for (const v of liveHosts(fleet, now, sel))
    for (const e of v.namespaces) {
      t.count++;
      addStates(t.states, e.states);
      t.summary.estab += e.summary.estab;
      t.summary.timewait += e.summary.timewait;
    }
  return t;
}
