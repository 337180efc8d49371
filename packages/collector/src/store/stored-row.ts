/**
 * A stored snapshot row back into the snapshot shape, the same for every driver: the values blob
 * decoded with its layout, collect.errors from JSON text, and the `latest` row's breakdown, which
 * is either the bin1 bytes as they came (codec/breakdown-bytes.ts) or JSON text for a snapshot that
 * came as JSON (store/ingest-rows.ts).
 */
import { PackedSnapshot, decodeBreakdown, decodeFixedValues, decodeValues, packedLayout } from '@tcpfleet/common';
import type { Breakdown, DecodedFixed, Layout, Packed, PackedLayout } from '@tcpfleet/common';
import type { StoredSnapshot } from './store.js';

/** The columns of a stored snapshot row. */
export interface StoredRow {
  seq: number;
  ts: number;
  recv_ts: number;
  vals: Uint8Array;
  errors: string | null;
  boot: string;
}

function breakdownOf(col: Uint8Array | string | null): Breakdown | undefined {
  if (col === null) return undefined;
  return typeof col === 'string' ? (JSON.parse(col) as Breakdown) : decodeBreakdown(col);
}

export function storedSnapshot(host: string, labels: Record<string, string>, row: StoredRow, layout: Layout, breakdown: Uint8Array | string | null): StoredSnapshot {
  const v = decodeValues(row.vals, layout);
  if (row.errors !== null) v.collect.errors = JSON.parse(row.errors) as string[];
  const snap: StoredSnapshot = {
    host,
    ts: row.ts,
    seq: row.seq,
    boot: row.boot,
    interval_ms: v.interval_ms,
    labels,
    states: v.states,
    ipv4: v.ipv4,
    ipv6: v.ipv6,
    summary: v.summary,
    sockstat: v.sockstat,
    snmp: v.snmp,
    netstat: v.netstat,
    collect: v.collect,
    recv_ts: row.recv_ts,
  };
  const b = breakdownOf(breakdown);
  if (b !== undefined) snap.breakdown = b;
  return snap;
}

/** Each stored layout's counter index (the stores keep one Layout object per layout id). */
const packedLayouts = new WeakMap<Layout, PackedLayout>();

/** Byte offset in a stored values blob of its first counter: after all but the last `counters` varints. */
function countersAt(vals: Uint8Array, counters: number): number {
  let numbers = 0;
  for (let i = 0; i < vals.length; i++) if (vals[i]! < 128) numbers++;
  let fixed = numbers - counters;
  let i = 0;
  while (fixed > 0 && i < vals.length) if (vals[i++]! < 128) fixed--;
  return i;
}

/**
 * A latest row as the fleet keeps it (api/fleet.ts): a PackedSnapshot, as a bin1 snapshot that
 * arrived here is, whose ~190 kernel counters and breakdown stay in their stored bytes until a
 * query reads them. storedSnapshot builds all of them at once: ~10 KB of heap per host where this
 * keeps ~2 KB (the fleet of a collector on PostgreSQL reads every other collector's hosts each
 * second, cluster/fleet-sync.ts). A breakdown stored as JSON text (a JSON agent's) is decoded as
 * storedSnapshot does.
 */
export function packedStoredSnapshot(host: string, labels: Record<string, string>, row: StoredRow, layout: Layout, breakdown: Uint8Array | string | null): StoredSnapshot {
  if (typeof breakdown === 'string') return storedSnapshot(host, labels, row, layout, breakdown);
  const counters = layout.snmp.length + layout.netstat.length;
  const f = decodeFixedValues(row.vals, counters);
  if (row.errors !== null) f.collect.errors = JSON.parse(row.errors) as string[];
  let pl = packedLayouts.get(layout);
  if (pl === undefined) packedLayouts.set(layout, (pl = packedLayout(layout.snmp, layout.netstat)));
  const snap = packedFromFixed(host, labels, row, f, {
    layout: pl,
    values: row.vals,
    countersAt: countersAt(row.vals, counters),
    breakdown: breakdown === null || breakdown.length === 0 ? null : breakdown,
  });
  snap.recv_ts = row.recv_ts;
  return snap as unknown as StoredSnapshot;
}

/** A PackedSnapshot from the fixed numbers of its values blob (decodeFixedValues) and its encoded parts (also the fleet's views, api/fleet.ts). */
export function packedFromFixed(host: string, labels: Record<string, string>, id: { ts: number; seq: number; boot: string }, f: DecodedFixed, packed: Packed): PackedSnapshot {
  const head = {
    host,
    ts: id.ts,
    seq: id.seq,
    boot: id.boot,
    interval_ms: f.interval_ms,
    labels,
    states: f.states,
    ipv4: f.ipv4,
    ipv6: f.ipv6,
    summary: f.summary,
    sockstat: f.sockstat,
    collect: f.collect,
  };
  return new PackedSnapshot(head, packed);
}
