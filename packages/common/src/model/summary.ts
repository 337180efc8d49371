/**
 * The TCP line of `ss -s`, computed as iproute2's ss.c print_summary() does (iproute2 6.x):
 *
 *   TCP:   <total> (estab <estab>, closed <closed>, orphaned <orphaned>, timewait <timewait>)
 *
 * Each number's formula, source and namespace scope is in the field table (model/fields.ts,
 * section `summary`; docs/fields.md). Inside a network namespace `closed` includes other
 * namespaces' sockets, exactly as `ss -s` run there shows. CurrEstab counts ESTABLISHED and
 * CLOSE_WAIT, so `estab` differs from `ss -tan state established`; neither is adjusted.
 */
import type { Counters } from '../proc/header-value-pairs.js';
import { SUMMARY_FORMULAS } from './fields.js';
import type { Sockstat, SsSummary } from './fields.js';

/** Computes the `ss -s` TCP line from sockstat(6) and the snmp Tcp counters. */
export function computeSsSummary(sockstat: Sockstat, snmp: Counters): SsSummary {
  const cheap = { sockstat, snmp };
  const out = {} as SsSummary;
  for (const f of SUMMARY_FORMULAS) out[f.name] = f.derive(cheap);
  return out;
}

/** Formats the summary exactly as `ss -s` prints its TCP line. */
export function formatSsTcpLine(s: SsSummary): string {
  return `TCP:   ${s.total} (estab ${s.estab}, closed ${s.closed}, orphaned ${s.orphaned}, timewait ${s.timewait})`;
}
