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
    // The per snapshot columns sized once (pushing grows each array several times over a commit).
    let total = 0;
    for (const item of items) total += item.snapshots.length;
    const rows: IngestRows = {
      layouts: [],
      items: new Array<IngestRows['items'][number]>(items.length),
      seq: new Array<number>(total),
      ts: new Array<number>(total),
      boot: new Array<string>(total),
      layout: new Array<number>(total),
      valsAt: new Array<number>(total),
      valsLen: new Array<number>(total),
      bdAt: new Array<number>(total),
      bdLen: new Array<number>(total),
      bdJson: new Array<string | null>(total),
      errors: new Array<string | null>(total),
      ns: { count: new Array<number>(total), netns: [], pid: [], layout: [], valsAt: [], valsLen: [], container: [], errors: [] },
      bytes: new Uint8Array(0),
    };
    const parts: Uint8Array[] = [];
    let at = 0;
    let j = 0;
    for (let x = 0; x < items.length; x++) {
      const item = items[x]!;
      rows.items[x] = { host: item.host, labels: item.labels, intervalMs: item.snapshots[0]?.interval_ms ?? 10_000, n: item.snapshots.length, auth: item.auth };
      for (const snap of item.snapshots) {
        rows.seq[j] = snap.seq;
        rows.ts[j] = snap.ts;
        rows.boot[j] = snap.boot;
        rows.errors[j] = snap.collect.errors.length > 0 ? JSON.stringify(snap.collect.errors) : null;
        const packed = PackedSnapshot.packed(snap);
        let vals: Uint8Array;
        if (packed !== undefined) {
          rows.layout[j] = this.#layoutId(packed.layout.text, rows.layouts);
          vals = packed.values;
        } else {
          rows.layout[j] = this.#plainLayout(item.host, snap, rows.layouts);
          vals = encodeValues(snap);
        }
        parts.push(vals);
        rows.valsAt[j] = at;
        rows.valsLen[j] = vals.length;
        at += vals.length;
        if (packed !== undefined && packed.breakdown !== null) {
          parts.push(packed.breakdown);
          rows.bdAt[j] = at;
          rows.bdLen[j] = packed.breakdown.length;
          at += packed.breakdown.length;
          rows.bdJson[j] = null;
        } else {
          rows.bdAt[j] = 0;
          rows.bdLen[j] = -1;
          rows.bdJson[j] = packed === undefined && snap.breakdown !== undefined ? JSON.stringify(snap.breakdown) : null;
        }
        at = this.#encodeNs(snap, j, rows, parts, at);
        j++;
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

  /** Each namespace entry of snapshot `j`: a values blob (appended to `parts` at `at`; returns the end), its layout, pid, container and errors. */
  #encodeNs(snap: Snapshot, j: number, rows: IngestRows, parts: Uint8Array[], at: number): number {
    const list = snap.namespaces;
    const ns = rows.ns;
    ns.count[j] = list?.length ?? 0;
    if (list === undefined) return at;
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
      parts.push(vals);
      ns.valsAt.push(at);
      ns.valsLen.push(vals.length);
      at += vals.length;
      ns.container.push(e.container === null ? null : JSON.stringify(e.container));
      ns.errors.push(e.collect.errors.length > 0 ? JSON.stringify(e.collect.errors) : null);
    }
    return at;
  }

  #plainLayout(host: string, snap: Snapshot, fresh: [number, string][]): number {
    const c = this.#hostLayouts.get(host);
    if (c !== undefined && sameKeys(snap.snmp, c.snmp) && sameKeys(snap.netstat, c.netstat)) return c.id;
    const id = this.#layoutId(layoutOf(snap), fresh);
    this.#hostLayouts.set(host, { snmp: Object.keys(snap.snmp), netstat: Object.keys(snap.netstat), id });
    return id;
  }
}
