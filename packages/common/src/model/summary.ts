/**
 * The TCP line of `ss -s`, computed as iproute2's ss.c print_summary() does (iproute2 6.x):
 *
 *   TCP:   <total> (estab <estab>, closed <closed>, orphaned <orphaned>, timewait <timewait>)
 *
 *   total    = sockstat TCP alloc + tw
 *   estab    = snmp Tcp CurrEstab
 *   closed   = alloc - (TCP inuse + TCP6 inuse - tw)
 *   orphaned = sockstat TCP orphan
 *   timewait = sockstat TCP tw
 *
 * alloc and orphan are kernel-wide while inuse, tw and CurrEstab belong to the reader's network
 * namespace, so inside a namespace `closed` includes other namespaces' sockets, exactly as
 * `ss -s` run there shows. CurrEstab counts ESTABLISHED and CLOSE_WAIT, so `estab` differs from
 * `ss -tan state established`; neither is adjusted to match the other.
 */
import type { Counters } from '../proc/header-value-pairs.js';
import type { Sockstat } from '../proc/net-sockstat.js';

/** The keys of the summary object, in the order `ss -s` prints them. */
export const SUMMARY_KEYS = ['total', 'estab', 'closed', 'orphaned', 'timewait'] as const;

/** The `ss -s` TCP line as numbers. */
export interface SsSummary {
  total: number;
  estab: number;
  closed: number;
  orphaned: number;
  timewait: number;
}

/** Computes the `ss -s` TCP line from sockstat(6) and the snmp Tcp counters. */
export function computeSsSummary(sockstat: Sockstat, snmp: Counters): SsSummary {
  const tw = sockstat.tcp_tw;
  return {
    total: sockstat.tcp_alloc + tw,
    estab: snmp['CurrEstab'] ?? 0,
    closed: sockstat.tcp_alloc - (sockstat.tcp_inuse + sockstat.tcp6_inuse - tw),
    orphaned: sockstat.tcp_orphan,
    timewait: tw,
  };
}

/** Formats the summary exactly as `ss -s` prints its TCP line. */
export function formatSsTcpLine(s: SsSummary): string {
  return `TCP:   ${s.total} (estab ${s.estab}, closed ${s.closed}, orphaned ${s.orphaned}, timewait ${s.timewait})`;
}
