/**
 * A commit's snapshots encoded for storage: plain numbers and strings plus one byte buffer, so
 * they cross to the write thread (store/write-thread.ts) cheaply (structured clone, the buffer
 * transferred) and the thread that writes them never touches snapshot objects.
 *
 * A bin1 snapshot (PackedSnapshot) already carries its values in the stored encoding and its
 * breakdown bytes: they are copied as they are. A snapshot that came as JSON is encoded here.
 * Layouts (counter-name lists) travel once per encoder, by a small id.
 */
import { PackedSnapshot, encodeValues, layoutOf } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import type { IngestItem, WriteAuth } from './store.js';

/** The encoded commit. Per snapshot arrays are in item order. */
export interface IngestRows {
  /** Layouts first used in this message: [encoder's layout id, layout text]. */
  layouts: [number, string][];
  items: { host: string; labels: Record<string, string>; intervalMs: number; n: number; auth?: WriteAuth | undefined }[];
  seq: number[];
  ts: number[];
  boot: string[];
  layout: number[];
  /** Offset and length of the values blob in `bytes`. */
  valsAt: number[];
  valsLen: number[];
  /** Offset and length of the binary breakdown in `bytes`; length -1: none in binary. */
  bdAt: number[];
  bdLen: number[];
  /** The breakdown as JSON text (a snapshot that came as JSON), else null. */
  bdJson: (string | null)[];
  /** collect.errors as JSON text, or null when there are none. */
  errors: (string | null)[];
  bytes: Uint8Array;
}

/** True when `obj` has exactly the keys of `keys`, in that order. */
function sameKeys(obj: Record<string, number>, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in obj) if (k !== keys[i++]) return false;
  return i === keys.length;
}

/** Encodes commits for one SqliteStore (or one write thread); it remembers the layouts it sent. */
export class RowEncoder {
  readonly #layoutIds = new Map<string, number>();
  /** Each host's last layout (as key lists): a JSON snapshot is checked key by key, not re-joined. */
  readonly #hostLayouts = new Map<string, { snmp: string[]; netstat: string[]; id: number }>();

  #layoutId(text: string, fresh: [number, string][]): number {
    let id = this.#layoutIds.get(text);
    if (id === undefined) {
      id = this.#layoutIds.size + 1;
      this.#layoutIds.set(text, id);
      fresh.push([id, text]);
    }
    return id;
  }

  encode(items: readonly IngestItem[]): IngestRows {
    const rows: IngestRows = { layouts: [], items: [], seq: [], ts: [], boot: [], layout: [], valsAt: [], valsLen: [], bdAt: [], bdLen: [], bdJson: [], errors: [], bytes: new Uint8Array(0) };
    const parts: Uint8Array[] = [];
    let at = 0;
    const put = (b: Uint8Array): number => {
      parts.push(b);
      at += b.length;
      return at - b.length;
    };
    for (const item of items) {
      rows.items.push({ host: item.host, labels: item.labels, intervalMs: item.snapshots[0]?.interval_ms ?? 10_000, n: item.snapshots.length, auth: item.auth });
      for (const snap of item.snapshots) {
        rows.seq.push(snap.seq);
        rows.ts.push(snap.ts);
        rows.boot.push(snap.boot);
        rows.errors.push(snap.collect.errors.length > 0 ? JSON.stringify(snap.collect.errors) : null);
        const packed = PackedSnapshot.packed(snap);
        let vals: Uint8Array;
        if (packed !== undefined) {
          rows.layout.push(this.#layoutId(packed.layout.text, rows.layouts));
          vals = packed.values;
        } else {
          rows.layout.push(this.#plainLayout(item.host, snap, rows.layouts));
          vals = encodeValues(snap);
        }
        rows.valsAt.push(put(vals));
        rows.valsLen.push(vals.length);
        if (packed !== undefined && packed.breakdown !== null) {
          rows.bdAt.push(put(packed.breakdown));
          rows.bdLen.push(packed.breakdown.length);
          rows.bdJson.push(null);
        } else {
          rows.bdAt.push(0);
          rows.bdLen.push(-1);
          rows.bdJson.push(packed === undefined && snap.breakdown !== undefined ? JSON.stringify(snap.breakdown) : null);
        }
      }
    }
    const bytes = new Uint8Array(at);
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    rows.bytes = bytes;
    return rows;
  }

  #plainLayout(host: string, snap: Snapshot, fresh: [number, string][]): number {
    const c = this.#hostLayouts.get(host);
    if (c !== undefined && sameKeys(snap.snmp, c.snmp) && sameKeys(snap.netstat, c.netstat)) return c.id;
    const id = this.#layoutId(layoutOf(snap), fresh);
    this.#hostLayouts.set(host, { snmp: Object.keys(snap.snmp), netstat: Object.keys(snap.netstat), id });
    return id;
  }
}
