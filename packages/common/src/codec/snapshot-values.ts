/**
 * The compact encoding of a snapshot's numbers: the collector's snapshots table stores it, and
 * the binary batch frame (protocol/bin1.ts) carries it byte for byte.
 *
 * A snapshot carries about 190 numbers (12 states for IPv4 and IPv6, the ss summary, sockstat,
 * the Tcp and TcpExt counters, collection costs). Storing them as JSON costs about 4 KiB per
 * snapshot; here they are a "layout" (the ordered list of counter names, stored once in the
 * layouts table and shared by every snapshot of the same kernel) plus a blob of zig-zag varints:
 * the stored fields of the field table (model/fields.ts) in its order (ipv4 x12, ipv6 x12,
 * summary, sockstat, collect, interval_ms for release 0.1.0), then the layout's counters. Most
 * counters are small, so a value costs one or two bytes.
 *
 * Derived numbers (states = ipv4 + ipv6) are not stored. collect.ms is stored in microseconds.
 * A field added to the table later is written after the older fixed fields; a blob written
 * before it existed is recognised by how many numbers it holds and reads the field as 0.
 */
import { PLAN, countNumbers, storedVersion } from '../model/field-plan.js';
import type { FieldPlan, SectionPlan, Slot } from '../model/field-plan.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { Snapshot } from '../model/snapshot.js';
import { VarintReader, VarintWriter } from './varint.js';
import { compile, key } from '../util/compile.js';

/** The layout text of a snapshot: "Key,Key|Key,Key", snmp then netstat counter names (fixed fields implied). */
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

/** The numeric part of a snapshot as decoded from storage. */
export type DecodedValues = Pick<Snapshot, 'states' | 'ipv4' | 'ipv6' | 'summary' | 'sockstat' | 'snmp' | 'netstat' | 'collect' | 'interval_ms'>;
/** The fixed numbers of a snapshot (no kernel counters). */
export type DecodedFixed = Omit<DecodedValues, 'snmp' | 'netstat'>;

/** How many counters (snmp and netstat names) a layout text lists. */
export function layoutCounters(text: string): number {
  const l = parseLayout(text);
  return l.snmp.length + l.netstat.length;
}

type Obj = Record<string, unknown>;
type Nums = Record<string, number>;

/** Consecutive stored numbers of one section: read and written in one loop. */
interface Group {
  readonly section: string | null;
  readonly names: readonly string[];
  readonly scales: readonly number[];
}

function groupsOf(slots: readonly Slot[]): Group[] {
  const out: { section: string | null; names: string[]; scales: number[] }[] = [];
  for (const s of slots) {
    let g = out[out.length - 1];
    if (g === undefined || g.section !== s.section) out.push((g = { section: s.section, names: [], scales: [] }));
    g.names.push(s.name);
    g.scales.push(s.scale);
  }
  return out;
}

/**
 * Builds a snapshot's sections from its fixed numbers (`nums`, by the plan's latest stored index)
 * and open counters (by section; null: leave them out), in table order (the key order of every
 * snapshot), adding them to `into`. A list field (collect.errors) is `texts` when given, else a
 * new empty array.
 */
export type SectionsBuilder = (nums: ArrayLike<number>, counters: ((p: SectionPlan) => Counters) | null, into: Obj, texts?: readonly string[]) => Obj;

const builders = new WeakMap<FieldPlan, SectionsBuilder>();

/**
 * The sections builder of a plan, compiled once from the table into one function of object
 * literals (util/compile.ts): it runs for every snapshot the collector decodes.
 */
export function sectionsBuilder(plan: FieldPlan): SectionsBuilder {
  let b = builders.get(plan);
  if (b === undefined) builders.set(plan, (b = compileSectionsBuilder(plan)));
  return b;
}

/**
 * A new sections builder of a plan, not shared with sectionsBuilder's: its object literals keep
 * their own field representations. V8 boxes every field of a literal as a heap number once it
 * was given one that is not a small integer (any number read from a Float64Array, as the stored
 * rows' decoders pass); a builder fed small integers only (protocol/bin1.ts) stays unboxed.
 * The sections named in `leaveOut` are neither built nor set (a sum of them still is).
 */
export function compileSectionsBuilder(plan: FieldPlan, leaveOut: readonly string[] = []): SectionsBuilder {
  const value = (p: SectionPlan, i: number): string => (p.indexes[i]! < 0 ? '(texts ?? [])' : `nums[${p.indexes[i]!}]`);
  const part = (section: string, name: string): string => {
    const p = plan.sections.find((x) => x.key === section)!;
    return value(p, p.names.indexOf(name));
  };
  const built = (p: SectionPlan): boolean => p.key === null || !leaveOut.includes(p.key);
  const lines: string[] = [];
  // The stored sections' objects, then the sums of them (states = ipv4 + ipv6, from the numbers).
  plan.sections.forEach((p, k) => {
    if (p.key !== null && built(p) && p.def.stored && p.def.open === undefined) lines.push(`const s${k} = {${p.names.map((name, i) => `${key(name)}: ${value(p, i)}`).join(', ')}};`);
  });
  plan.sections.forEach((p, k) => {
    const sum = p.def.sumOf;
    if (sum !== undefined && built(p)) lines.push(`const s${k} = {${p.names.map((name) => `${key(name)}: ${part(sum[0], name)} + ${part(sum[1], name)}`).join(', ')}};`);
  });
  // Then every section into the snapshot, in table order.
  plan.sections.forEach((p, k) => {
    if (!built(p)) return;
    if (p.def.open !== undefined) lines.push(`if (counters !== null) into[${key(p.key!)}] = counters(plans[${k}]);`);
    else if (p.key === null) p.names.forEach((name, i) => lines.push(`into[${key(name)}] = ${value(p, i)};`));
    else if (p.def.stored || p.def.sumOf !== undefined) lines.push(`into[${key(p.key)}] = s${k};`);
  });
  const make = compile<(plans: readonly SectionPlan[], ...rest: Parameters<SectionsBuilder>) => Obj>(['plans', 'nums', 'counters', 'into', 'texts'], [...lines, 'return into;']);
  const plans = plan.sections;
  return (nums, counters, into, texts) => make(plans, nums, counters, into, texts);
}

/**
 * One stored section of a values blob whose fixed numbers end at `fixedEnd` (a blob already
 * checked), built on its own: fields in table order, those the blob's version lacks 0.
 */
export function readSection(plan: FieldPlan, blob: Uint8Array, fixedEnd: number, section: string): Record<string, number> {
  const version = storedVersion(countNumbers(blob, 0, fixedEnd), 0, plan);
  if (version === undefined) throw new Error('stored values blob: its fixed numbers match no field table version');
  const out: Nums = {};
  for (const name of plan.sections.find((p) => p.key === section)?.names ?? []) out[name] = 0;
  const r = new VarintReader(blob, 'values');
  for (const x of plan.stored[version - 1]!) {
    const n = r.get();
    if (x.section === section) out[x.name] = n / x.scale;
  }
  return out;
}

/** The stored-values encoding of one field table (VALUES: of the table in use). */
export class ValuesCodec {
  readonly plan: FieldPlan;
  readonly #groups: readonly Group[];
  readonly #w = new VarintWriter();

  constructor(plan: FieldPlan) {
    this.plan = plan;
    this.#groups = groupsOf(plan.latest);
  }

  /** The decoders' builder, compiled on first use (an agent only encodes). */
  get #build(): SectionsBuilder {
    return sectionsBuilder(this.plan);
  }

  /** Encodes a snapshot's numbers: the fixed fields, then the counters in the snapshot's own order. */
  encode(s: Snapshot): Buffer {
    const w = this.#w.reset();
    const snap = s as unknown as Record<string, Nums>;
    for (const g of this.#groups) {
      const o = g.section === null ? (s as unknown as Nums) : snap[g.section]!;
      for (let i = 0; i < g.names.length; i++) w.put((o[g.names[i]!] ?? 0) * g.scales[i]!);
    }
    for (const p of this.plan.open) {
      const c = snap[p.key!]!;
      for (const k in c) w.put(c[k] ?? 0);
    }
    return w.bytes();
  }

  /**
   * The fixed numbers of a blob (by latest stored index; fields the blob's version lacks are 0)
   * and a reader at its counters. The blob's version is told from how many numbers it holds; a
   * blob of a newer table (more numbers than this one writes) is refused, never misread.
   */
  readFixed(blob: Uint8Array, counters: number): { nums: Float64Array; r: VarintReader } {
    const plan = this.plan;
    const n = countNumbers(blob);
    const v = storedVersion(n, counters, plan);
    if (v === undefined) {
      if (n < counters + plan.stored[0]!.length) throw new Error('stored values blob is truncated');
      throw new Error(
        `stored values blob holds ${n} numbers, not the fixed fields of any field table version this collector knows (up to ${plan.version}) plus ${counters} counters: written by a newer tcpfleet?`,
      );
    }
    const r = new VarintReader(blob, 'values');
    const nums = new Float64Array(plan.latest.length);
    for (const x of plan.stored[v - 1]!) nums[x.index] = r.get() / x.scale;
    return { nums, r };
  }

  /** Decodes a blob written by encode (of this table version or an older one) with its layout. */
  decode(blob: Uint8Array, layout: Layout): DecodedValues {
    const byKey = layout as unknown as Record<string, readonly string[]>;
    let counters = 0;
    for (const p of this.plan.open) counters += byKey[p.key!]?.length ?? 0;
    const { nums, r } = this.readFixed(blob, counters);
    const read = (p: SectionPlan): Counters => {
      const out: Counters = {};
      for (const k of byKey[p.key!] ?? []) out[k] = r.get();
      return out;
    };
    return this.#build(nums, read, {}) as unknown as DecodedValues;
  }

  /** The fixed numbers of a blob holding `counters` counters (layoutCounters), without building the counters. */
  decodeFixed(blob: Uint8Array, counters: number): DecodedFixed {
    return this.#build(this.readFixed(blob, counters).nums, null, {}) as unknown as DecodedFixed;
  }
}

/** The codec of the field table in use. */
export const VALUES = new ValuesCodec(PLAN);

/** Encodes a snapshot's numbers in the order of its layout. */
export function encodeValues(s: Snapshot): Buffer {
  return VALUES.encode(s);
}

/** Decodes a blob written by encodeValues with the same layout. */
export function decodeValues(blob: Uint8Array, layout: Layout): DecodedValues {
  return VALUES.decode(blob, layout);
}

/** The fixed numbers of a blob written by encodeValues with a layout of `counters` counters. */
export function decodeFixedValues(blob: Uint8Array, counters: number): DecodedFixed {
  return VALUES.decodeFixed(blob, counters);
}
