/**
 * The fleet grouped by the value of one label (`tcpfleet total --by LABEL`, `top --by
 * label:LABEL`): one pass over the hosts in memory, summing live hosts' states and ss summary per
 * value, counting stale hosts apart as total does. Hosts without the label form the group whose
 * value is null.
 */
import type { Selector, SsSummary, StateCounts, TcpStateName } from '@tcpfleet/common';
import { N_SUM, addCounts, totalOf } from './fleet.js';
import type { Fleet } from './fleet.js';

/** One group of `total --by`. */
export interface LabelGroup {
  /** The label's value; null for the hosts without the label. */
  value: string | null;
  /** Live hosts in the group (their counts are summed). */
  hosts: number;
  /** Stale hosts in the group (left out of the sums). */
  stale: number;
  states: StateCounts;
  summary: SsSummary;
}

/** The answer of `total --by LABEL` (GET /api/v1/total?by=LABEL). */
export interface GroupedTotal {
  by: string;
  groups: LabelGroup[];
}

interface Acc {
  hosts: number;
  stale: number;
  sum: Float64Array;
}

/** Groups by the label's value, in no order. */
export function groupByLabel(fleet: Fleet, label: string, now: number, sel: Selector | null): LabelGroup[] {
  const accs = new Map<string | null, Acc>();
  fleet.scan(now, sel, (h, stale) => {
    const value = Object.hasOwn(h.labels, label) ? h.labels[label]! : null;
    let a = accs.get(value);
    if (a === undefined) {
      a = { hosts: 0, stale: 0, sum: new Float64Array(N_SUM) };
      accs.set(value, a);
    }
    if (stale) a.stale++;
    else {
      a.hosts++;
      addCounts(a.sum, h.counts, 1);
    }
  });
  return [...accs].map(([value, a]) => ({ value, ...totalOf(a.hosts, a.stale, a.sum) }));
}

/** Largest first by `state` (established for total --by), then more live hosts, then by value (null last). */
export function sortGroups(groups: LabelGroup[], state: TcpStateName): LabelGroup[] {
  return groups.sort((a, b) => b.states[state] - a.states[state] || b.hosts - a.hosts || (a.value === b.value ? 0 : a.value === null ? 1 : b.value === null ? -1 : a.value < b.value ? -1 : 1));
}

/** `total --by LABEL`: every group, largest first by `order` (established connections unless --state says). */
export function totalByLabel(fleet: Fleet, label: string, now: number, sel: Selector | null, order: TcpStateName = 'established'): GroupedTotal {
  return { by: label, groups: sortGroups(groupByLabel(fleet, label, now, sel), order) };
}

/** One row of `top --by label:LABEL`. */
export interface LabelTopRow {
  label: string;
  /** The label's value; null for the hosts without it. */
  label_value: string | null;
  value: number;
  states: StateCounts;
  hosts: number;
}

/** `top --by label:LABEL`: the label's values ranked by `state` summed over their live hosts; groups of stale hosts only are left out. */
export function topByLabel(fleet: Fleet, label: string, state: TcpStateName, limit: number, now: number, sel: Selector | null): LabelTopRow[] {
  return sortGroups(
    groupByLabel(fleet, label, now, sel).filter((g) => g.hosts > 0),
    state,
  )
    .slice(0, limit)
    .map((g) => ({ label, label_value: g.value, value: g.states[state], states: g.states, hosts: g.hosts }));
}
