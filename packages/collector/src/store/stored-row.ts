/**
 * A stored snapshot row back into the snapshot shape, the same for every driver: the values blob
 * decoded with its layout, collect.errors from JSON text, and the `latest` row's breakdown, which
 * is either the bin1 bytes as they came (codec/breakdown-bytes.ts) or JSON text for a snapshot that
 * came as JSON (store/ingest-rows.ts).
 */
import { decodeBreakdown, decodeValues } from '@tcpfleet/common';
import type { Breakdown, Layout } from '@tcpfleet/common';
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
