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
import { encodeNsValues, nsLayoutOf } from './ns-values.js';

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
  /** The snapshots' namespace entries (issue 10), flat: `count[j]` entries belong to snapshot j. */
  ns: NsRows;
  bytes: Uint8Array;
}

/** Namespace entries of a commit, in snapshot order; values blobs in the commit's `bytes`. */
export interface NsRows {
  count: number[];
  netns: number[];
  pid: number[];
  layout: number[];
  valsAt: number[];
  valsLen: number[];
  /** The container identity as JSON text, or null. */
  container: (string | null)[];
  /** collect.errors as JSON text, or null when there are none. */
  errors: (string | null)[];
}

/** Where each snapshot's entries start in a commit's flat namespace rows (NsRows.count). */
export function nsOffsets(count: readonly number[]): number[] {
  const at: number[] = new Array<number>(count.length);
  let o = 0;
  for (let j = 0; j < count.length; j++) {
    at[j] = o;
    o += count[j]!;
  }
  return at;
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
  /** The last namespace entry layout (entries of one kernel share it). */
  #nsLayout: { keys: string[]; id: number } | null = null;

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
    const rows: IngestRows = {
      layouts: [],
      items: [],
      seq: [],
      ts: [],
      boot: [],
      layout: [],
      valsAt: [],
      valsLen: [],
      bdAt: [],
      bdLen: [],
      bdJson: [],
      errors: [],
      ns: { count: [], netns: [], pid: [], layout: [], valsAt: [], valsLen: [], container: [], errors: [] },
      bytes: new Uint8Array(0),
    };
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
        this.#encodeNs(snap, rows, put);
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

  /** Each namespace entry of a snapshot: a values blob, its layout, pid, container and errors. */
  #encodeNs(snap: Snapshot, rows: IngestRows, put: (b: Uint8Array) => number): void {
    const list = snap.namespaces;
    const ns = rows.ns;
    ns.count.push(list?.length ?? 0);
    if (list === undefined) return;
    for (const e of list) {
      ns.netns.push(e.netns);
      ns.pid.push(e.pid);
      const c = this.#nsLayout;
      if (c !== null && sameKeys(e.snmp, c.keys)) ns.layout.push(c.id);
      else {
        const id = this.#layoutId(nsLayoutOf(e), rows.layouts);
        this.#nsLayout = { keys: Object.keys(e.snmp), id };
        ns.layout.push(id);
      }
      const vals = encodeNsValues(e);
      ns.valsAt.push(put(vals));
      ns.valsLen.push(vals.length);
      ns.container.push(e.container === null ? null : JSON.stringify(e.container));
      ns.errors.push(e.collect.errors.length > 0 ? JSON.stringify(e.collect.errors) : null);
    }
  }

  #plainLayout(host: string, snap: Snapshot, fresh: [number, string][]): number {
    const c = this.#hostLayouts.get(host);
    if (c !== undefined && sameKeys(snap.snmp, c.snmp) && sameKeys(snap.netstat, c.netstat)) return c.id;
    const id = this.#layoutId(layoutOf(snap), fresh);
    this.#hostLayouts.set(host, { snmp: Object.keys(snap.snmp), netstat: Object.keys(snap.netstat), id });
    return id;
  }
}
