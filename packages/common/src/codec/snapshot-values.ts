/**
 * The compact encoding of a snapshot's numbers: the collector's snapshots table stores it, and
 * the binary batch frame (protocol/bin1.ts) carries it byte for byte.
 *
 * A snapshot carries about 190 numbers (12 states for IPv4 and IPv6, the ss summary, sockstat,
 * the Tcp and TcpExt counters, collection costs). Storing them as JSON costs about 4 KiB per
 * snapshot; here they are a "layout" (the ordered list of field names, stored once in the layouts
 * table and shared by every snapshot of the same kernel) plus a blob of zig-zag varints in that
 * order. Most counters are small, so a value costs one or two bytes.
 *
 * Derived numbers (states = ipv4 + ipv6) are not stored. collect.ms is stored in microseconds.
 */
import { TCP_STATES, addStates, emptyStates } from '../model/tcp-state.js';
import { SUMMARY_KEYS } from '../model/summary.js';
import type { SsSummary } from '../model/summary.js';
import { SOCKSTAT_KEYS } from '../proc/net-sockstat.js';
import type { Sockstat } from '../proc/net-sockstat.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { Snapshot } from '../model/snapshot.js';
import { VarintReader, VarintWriter } from './varint.js';


/** The layout text of a snapshot: "snmp:Key,Key|netstat:Key,Key" (fixed fields implied). */
export function layoutOf(s: Pick<Snapshot, 'snmp' | 'netstat'>): string {
  return `${Object.keys(s.snmp).join(',')}|${Object.keys(s.netstat).join(',')}`;
}

/** Parsed layout: the counter names in storage order. */
export interface Layout {
  snmp: string[];
  netstat: string[];
}

/** Parses layout text. */
export function parseLayout(text: string): Layout {
  const [a = '', b = ''] = text.split('|');
  return { snmp: a === '' ? [] : a.split(','), netstat: b === '' ? [] : b.split(',') };
}

const shared = new VarintWriter();

/** Encodes a snapshot's numbers in the order of its layout. */
export function encodeValues(s: Snapshot): Buffer {
  const w = shared.reset();
  for (const st of TCP_STATES) w.put(s.ipv4[st]);
  for (const st of TCP_STATES) w.put(s.ipv6[st]);
  for (const k of SUMMARY_KEYS) w.put(s.summary[k]);
  for (const k of SOCKSTAT_KEYS) w.put(s.sockstat[k]);
  w.put(s.collect.ms * 1000);
  w.put(s.collect.bytes);
  w.put(s.collect.skipped);
  w.put(s.collect.states_age_ms);
  w.put(s.interval_ms);
  for (const k in s.snmp) w.put(s.snmp[k] ?? 0);
  for (const k in s.netstat) w.put(s.netstat[k] ?? 0);
  return w.bytes();
}

/** The numeric part of a snapshot as decoded from storage. */
export type DecodedValues = Pick<Snapshot, 'states' | 'ipv4' | 'ipv6' | 'summary' | 'sockstat' | 'snmp' | 'netstat' | 'collect' | 'interval_ms'>;

/** Decodes a blob written by encodeValues with the same layout. */
export function decodeValues(blob: Uint8Array, layout: Layout): DecodedValues {
  const r = new VarintReader(blob, 'values');
  const get = (): number => r.get();
  const ipv4 = emptyStates();
  const ipv6 = emptyStates();
  for (const st of TCP_STATES) ipv4[st] = get();
  for (const st of TCP_STATES) ipv6[st] = get();
  const summary = {} as SsSummary;
  for (const k of SUMMARY_KEYS) summary[k] = get();
  const sockstat = {} as Sockstat;
  for (const k of SOCKSTAT_KEYS) sockstat[k] = get();
  const collect = { ms: get() / 1000, bytes: get(), skipped: get(), errors: [] as string[], states_age_ms: get() };
  const interval_ms = get();
  const snmp: Counters = {};
  for (const k of layout.snmp) snmp[k] = get();
  const netstat: Counters = {};
  for (const k of layout.netstat) netstat[k] = get();
  return { states: addStates(addStates(emptyStates(), ipv4), ipv6), ipv4, ipv6, summary, sockstat, snmp, netstat, collect, interval_ms };
}
