/**
 * A snapshot decoded from a binary batch frame. The numbers every consumer reads at once (states,
 * summary, collect) are plain fields; the ~190 kernel counters, the breakdown, and ipv4, ipv6 and
 * sockstat (read by a query or an alert rule only) stay in their bytes until something reads them
 * (then they are built once and kept). A collector that
 * only stores, totals and checks alerts never builds them, which is most of the garbage a JSON
 * snapshot makes. The bytes are the stored encoding (codec/snapshot-values.ts), so the store
 * writes them as they came.
 *
 * It behaves as a Snapshot: the lazy parts are getters, and toJSON() writes every field, so
 * JSON.stringify gives the same text as for the plain object. Spreading ({...s}) copies only own
 * fields: use toObject() instead.
 */
import type { CollectInfo, Snapshot } from '../model/snapshot.js';
import type { StateCounts } from '../model/tcp-state.js';
import type { Sockstat, SsSummary } from '../model/fields.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { Breakdown } from '../proc/breakdown.js';
import type { NamespaceEntry } from '../model/namespace-entry.js';
import { decodeBreakdown } from '../codec/breakdown-bytes.js';
import { WireReader } from '../codec/wire-reader.js';
import { PLAN, SNAPSHOT_KEYS } from '../model/field-plan.js';
import type { FieldPlan } from '../model/field-plan.js';
import { readSection } from '../codec/snapshot-values.js';

/** The counter names of a kernel, in the order its values are encoded; shared by every snapshot that uses it. */
export interface PackedLayout {
  /** "Key,Key|Key,Key": the stored layout text (codec/snapshot-values.ts layoutOf). */
  readonly text: string;
  readonly snmp: readonly string[];
  readonly netstat: readonly string[];
  /** Position of each counter among snmp then netstat values. */
  readonly index: { readonly snmp: ReadonlyMap<string, number>; readonly netstat: ReadonlyMap<string, number> };
}

/** Builds a layout from its counter names. */
export function packedLayout(snmp: readonly string[], netstat: readonly string[]): PackedLayout {
  return {
    text: `${snmp.join(',')}|${netstat.join(',')}`,
    snmp,
    netstat,
    index: { snmp: new Map(snmp.map((k, i) => [k, i])), netstat: new Map(netstat.map((k, i) => [k, snmp.length + i])) },
  };
}

/** The encoded parts of a packed snapshot. */
export interface Packed {
  readonly layout: PackedLayout;
  /** The values blob as stored (codec/snapshot-values.ts encodeValues). */
  readonly values: Uint8Array;
  /** Offset in `values` of the first counter (snmp, then netstat). */
  readonly countersAt: number;
  /** The breakdown bytes (codec/breakdown-bytes.ts), or null when the snapshot has none. */
  readonly breakdown: Uint8Array | null;
  /** The field table of `values` (default: the one in use), for the sections built when read. */
  readonly plan?: FieldPlan;
}

/**
 * The sections a snapshot's head may leave out (then built from `values` when first read): the
 * collector reads none of them for every snapshot (states, summary and collect it does: those
 * are always given). A bin1 snapshot leaves them out.
 */
export const LAZY_SECTIONS = ['ipv4', 'ipv6', 'sockstat'] as const;
type Lazy = (typeof LAZY_SECTIONS)[number];

/** The plain fields a PackedSnapshot is made with. */
export type PackedHead = Pick<Snapshot, 'host' | 'ts' | 'seq' | 'boot' | 'interval_ms' | 'labels' | 'states' | 'summary' | 'collect'> & Partial<Pick<Snapshot, Lazy>>;

/** The counters `names` of `values`, after skipping `skip` counters from `countersAt` (the bytes were checked on arrival). */
function readCounters(values: Uint8Array, countersAt: number, names: readonly string[], skip: number): Counters {
  const r = new WireReader(values, countersAt);
  for (let i = 0; i < skip; i++) r.z('counter');
  const out: Counters = {};
  for (const k of names) out[k] = r.z('counter');
  return out;
}

// Not `implements Snapshot`: its optional `breakdown` is a getter that may return undefined (exactOptionalPropertyTypes).
export class PackedSnapshot {
  host: string;
  ts: number;
  seq: number;
  boot: string;
  interval_ms: number;
  labels: Record<string, string>;
  states: StateCounts;
  summary: SsSummary;
  collect: CollectInfo;
  /** With --namespaces: every other network namespace's entry (decoded at once; plain objects). */
  declare namespaces?: NamespaceEntry[];
  /** Set by the collector once stored (StoredSnapshot); not part of the wire data. */
  declare recv_ts?: number;
  declare stale?: boolean;
  readonly #p: Packed;
  #snmp: Counters | undefined;
  #netstat: Counters | undefined;
  #breakdown: Breakdown | undefined;
  #ipv4: StateCounts | undefined;
  #ipv6: StateCounts | undefined;
  #sockstat: Sockstat | undefined;

  /** `head`: the plain fields; ipv4, ipv6 and sockstat left out are built from the values when read. */
  constructor(head: PackedHead, packed: Packed) {
    this.host = head.host;
    this.ts = head.ts;
    this.seq = head.seq;
    this.boot = head.boot;
    this.interval_ms = head.interval_ms;
    this.labels = head.labels;
    this.states = head.states;
    this.#ipv4 = head.ipv4;
    this.#ipv6 = head.ipv6;
    this.summary = head.summary;
    this.#sockstat = head.sockstat;
    this.collect = head.collect;
    this.#p = packed;
  }

  /** A section left out of the head, from the values' fixed numbers. */
  #section(key: Lazy): Record<string, number> {
    return readSection(this.#p.plan ?? PLAN, this.#p.values, this.#p.countersAt, key);
  }

  get ipv4(): StateCounts {
    return (this.#ipv4 ??= this.#section('ipv4') as unknown as StateCounts);
  }
  set ipv4(v: StateCounts) {
    this.#ipv4 = v;
  }

  get ipv6(): StateCounts {
    return (this.#ipv6 ??= this.#section('ipv6') as unknown as StateCounts);
  }
  set ipv6(v: StateCounts) {
    this.#ipv6 = v;
  }

  get sockstat(): Sockstat {
    return (this.#sockstat ??= this.#section('sockstat') as unknown as Sockstat);
  }
  set sockstat(v: Sockstat) {
    this.#sockstat = v;
  }

  get snmp(): Counters {
    return (this.#snmp ??= readCounters(this.#p.values, this.#p.countersAt, this.#p.layout.snmp, 0));
  }
  set snmp(v: Counters) {
    this.#snmp = v;
  }

  get netstat(): Counters {
    return (this.#netstat ??= readCounters(this.#p.values, this.#p.countersAt, this.#p.layout.netstat, this.#p.layout.snmp.length));
  }
  set netstat(v: Counters) {
    this.#netstat = v;
  }

  get breakdown(): Breakdown | undefined {
    if (this.#breakdown === undefined && this.#p.breakdown !== null) this.#breakdown = decodeBreakdown(this.#p.breakdown);
    return this.#breakdown;
  }
  set breakdown(v: Breakdown | undefined) {
    this.#breakdown = v;
  }

  /** The encoded parts of `s` when it is a PackedSnapshot (the store writes them as they are). */
  static packed(s: Snapshot): Packed | undefined {
    return #p in s ? (s as PackedSnapshot).#p : undefined;
  }

  /** True when `s` carries a breakdown, without building it. */
  static hasBreakdown(s: Snapshot): boolean {
    return #p in s ? (s as PackedSnapshot).#p.breakdown !== null || (s as PackedSnapshot).#breakdown !== undefined : s.breakdown !== undefined;
  }

  /** One kernel counter (section snmp or netstat) by name, without building the whole object; undefined when absent. */
  static counter(s: Snapshot, section: 'snmp' | 'netstat', name: string): number | undefined {
    if (!(#p in s)) return s[section][name];
    const self = s as PackedSnapshot;
    const built = section === 'snmp' ? self.#snmp : self.#netstat;
    if (built !== undefined) return built[name];
    const i = self.#p.layout.index[section].get(name);
    if (i === undefined) return undefined;
    return readCounters(self.#p.values, self.#p.countersAt, [name], i)[name];
  }

  /** A plain object with every field (what spreading a plain snapshot gives), in the snapshot's key order. */
  toObject(): Snapshot & { recv_ts?: number; stale?: boolean } {
    const o: Record<string, unknown> = {};
    const self = this as unknown as Record<string, unknown>;
    for (const k of SNAPSHOT_KEYS) {
      const v = self[k];
      if (v !== undefined) o[k] = v;
    }
    if (this.recv_ts !== undefined) o['recv_ts'] = this.recv_ts;
    if (this.stale !== undefined) o['stale'] = this.stale;
    return o as unknown as Snapshot & { recv_ts?: number; stale?: boolean };
  }

  toJSON(): object {
    return this.toObject();
  }
}
