/**
 * The compact form of a host in `tcpfleet hosts --compact` (GET /api/v1/hosts?compact=1): what the
 * hosts table shows and no more. No breakdown, no kernel counters (snmp, netstat, sockstat), no
 * per-family counts, and `states` lists only the states whose count is not 0 (a state not listed
 * is 0), so 10,000 hosts fit in under 3 MB (bench/RESULTS.md, selectors).
 */
import { PackedSnapshot, TCP_STATES } from '@tcpfleet/common';
import type { SsSummary, StateCounts } from '@tcpfleet/common';
import type { HostView } from './fleet.js';

/** One host in compact form. */
export interface CompactHost {
  host: string;
  labels: Record<string, string>;
  /** Non-zero counts only, in the usual state order. */
  states: Partial<StateCounts>;
  summary: SsSummary;
  recv_ts: number;
  stale: boolean;
}

export function compactHost(h: HostView): CompactHost {
  const states: Partial<StateCounts> = {};
  const s = h.states;
  for (const st of TCP_STATES) if (s[st] !== 0) states[st] = s[st];
  return { host: h.host, labels: h.labels, states, summary: h.summary, recv_ts: h.recv_ts, stale: h.stale };
}

/**
 * A host as `GET /api/v1/hosts` lists it (the full form): its latest snapshot without the
 * per-namespace entries, which can be 512 a host (about 1.3 KB each): they are answered by
 * `GET /api/v1/hosts/ID` and `GET /api/v1/containers`. `collect.namespaces` (what the agent
 * found) stays.
 */
export function listedHost(h: HostView): unknown {
  if (h.namespaces === undefined) return h;
  const { namespaces: _entries, ...rest } = h instanceof PackedSnapshot ? h.toObject() : h;
  return rest;
}
