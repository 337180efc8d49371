/**
 * The stored encoding of one namespace entry's numbers (issue 10, storage of `namespaces`): zig-zag
 * varints in a fixed order, then the entry's snmp Tcp counters in the order of a layout (the
 * `layouts` table, text "Key,Key|" as a host's layout with no netstat part). About 60 bytes per
 * entry: most numbers fit one byte. ipv4 and ipv6 are stored; states = ipv4 + ipv6 (as for hosts).
 *
 * Fixed order: ipv4 (12 states), ipv6 (12), summary (5), sockstat (7), collect.states_age_ms,
 * collect.states_unchanged (0/1), collect.skipped. A blob with fewer fixed numbers (an older
 * encoding) reads the missing ones as 0; container, pid and errors are columns of their own.
 */
import { SOCKSTAT_KEYS, SUMMARY_KEYS, TCP_STATES, VarintReader, VarintWriter, emptySockstat, emptyStates } from '@tcpfleet/common';
import type { Counters, NamespaceCollect, NamespaceCounts, NamespaceEntry, Sockstat, SsSummary, StateCounts } from '@tcpfleet/common';

/** The fixed numbers of a blob, before its counters. */
export const NS_FIXED = TCP_STATES.length * 2 + SUMMARY_KEYS.length + SOCKSTAT_KEYS.length + 3;

/** The layout text of an entry's counters. */
export function nsLayoutOf(e: Pick<NamespaceEntry, 'snmp'>): string {
  return `${Object.keys(e.snmp).join(',')}|`;
}

const w = new VarintWriter();

/** Encodes an entry's numbers (its counters in their own key order: nsLayoutOf gives that order). */
export function encodeNsValues(e: NamespaceEntry): Buffer {
  w.reset();
  for (const s of TCP_STATES) w.put(e.ipv4[s]);
  for (const s of TCP_STATES) w.put(e.ipv6[s]);
  for (const k of SUMMARY_KEYS) w.put(e.summary[k]);
  for (const k of SOCKSTAT_KEYS) w.put(e.sockstat[k]);
  w.put(e.collect.states_age_ms);
  w.put(e.collect.states_unchanged ? 1 : 0);
  w.put(e.collect.skipped);
  for (const k in e.snmp) w.put(e.snmp[k] ?? 0);
  return w.bytes();
}

/** The numbers of an entry as decoded: its counts, and collect without errors. */
export type NsValues = NamespaceCounts & { collect: Omit<NamespaceCollect, 'errors'> };

/** Decodes a blob of encodeNsValues with the names of its counters (`snmp` of the layout). */
export function decodeNsValues(blob: Uint8Array, snmpNames: readonly string[]): NsValues {
  const r = new VarintReader(blob, 'namespace values');
  let total = 0;
  for (let k = 0; k < blob.length; k++) if (blob[k]! < 0x80) total++;
  const fixed = total - snmpNames.length;
  let i = 0;
  const next = (): number => (i++ < fixed ? r.get() : 0);
  const ipv4 = emptyStates();
  const ipv6 = emptyStates();
  const states = emptyStates();
  for (const s of TCP_STATES) ipv4[s] = next();
  for (const s of TCP_STATES) {
    ipv6[s] = next();
    states[s] = ipv4[s] + ipv6[s];
  }
  const summary = {} as SsSummary;
  for (const k of SUMMARY_KEYS) summary[k] = next();
  const sockstat: Sockstat = emptySockstat();
  for (const k of SOCKSTAT_KEYS) sockstat[k] = next();
  const states_age_ms = next();
  const states_unchanged = next() === 1;
  const skipped = next();
  // Fixed numbers of a newer encoding than this one: skipped, never misread as counters.
  while (i++ < fixed) r.get();
  const snmp: Counters = {};
  for (const k of snmpNames) snmp[k] = r.get();
  return { states, ipv4, ipv6, summary, sockstat, snmp, collect: { states_age_ms, states_unchanged, skipped } };
}

/** The numbers a rollup needs, from a blob (no counters built). */
export function nsRollupSample(blob: Uint8Array, snmpNames: readonly string[]): { states: StateCounts; ipv4: StateCounts; summary: SsSummary; sockstat: Sockstat } {
  const v = decodeNsValues(blob, snmpNames);
  return { states: v.states, ipv4: v.ipv4, summary: v.summary, sockstat: v.sockstat };
}
