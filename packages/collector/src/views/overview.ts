/**
 * GET /api/v1/overview: everything the dashboard and `tcpfleet watch` show, in one answer:
 * the fleet total (as /api/v1/total), every host (slimmed: no breakdown, snmp or netstat),
 * ranked by a state, their sparklines over the last hour, and the firing alerts.
 *
 *   GET /api/v1/overview?state=established&window=3600000&points=60[&selector=env=prod]
 *
 * With a label selector (docs/selectors.md) the total, the hosts and the alerts are those of the
 * hosts it matches (fleet-wide alerts are left out).
 */
import type { Selector, StateCounts, SsSummary, TcpStateName } from '@tcpfleet/common';
import type { Fleet, FleetTotal } from '../api/fleet.js';
import type { Sparklines } from './sparklines.js';
import type { FiringAlert } from './firing-alerts.js';

/** A host as the overview lists it. */
export interface OverviewHost {
  host: string;
  labels: Record<string, string>;
  states: StateCounts;
  summary: SsSummary;
  ts: number;
  recv_ts: number;
  interval_ms: number;
  stale: boolean;
  value: number;
  spark: (number | null)[];
}

/** The answer of /api/v1/overview. */
export interface Overview {
  now: number;
  state: TcpStateName;
  window_ms: number;
  step_ms: number;
  total: FleetTotal;
  hosts: OverviewHost[];
  alerts: readonly FiringAlert[];
}

/** Builds the overview; hosts sorted by the state's count (live first, then by name). */
export async function buildOverview(
  fleet: Fleet,
  sparklines: Sparklines,
  alerts: readonly FiringAlert[],
  state: TcpStateName,
  now: number,
  windowMs: number,
  points: number,
  sel: Selector | null = null,
): Promise<Overview> {
  const views = fleet.hosts(now, sel);
  const sets = await sparklines.get(
    views.map((h) => h.host),
    state,
    now,
    windowMs,
    points,
  );
  const hosts: OverviewHost[] = views.map((h) => ({
    host: h.host,
    labels: h.labels,
    states: h.states,
    summary: h.summary,
    ts: h.ts,
    recv_ts: h.recv_ts,
    interval_ms: h.interval_ms,
    stale: h.stale,
    value: h.states[state],
    spark: sets.hosts[h.host] ?? [],
  }));
  hosts.sort((a, b) => Number(a.stale) - Number(b.stale) || b.value - a.value || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const names = sel === null ? null : new Set(views.map((h) => h.host));
  const shown = names === null ? alerts : alerts.filter((a) => a.host !== null && names.has(a.host));
  return { now, state, window_ms: windowMs, step_ms: sets.step_ms, total: fleet.total(now, sel), hosts, alerts: shown };
}
