/**
 * The binary batch frame, encoding "bin1": the `batch` message of the JSON protocol as one binary
 * WebSocket frame (350 bytes against 6,068 of JSON for the benchmark's snapshot), decoded without
 * JSON.parse. An agent sends it only to a collector whose welcome lists "bin1" in `encodings`;
 * everything else (hello, gap, welcome, ack, nack) stays JSON. See docs/protocol.md.
 *
 *   u8 0xB1                          frame type: batch, bin1
 *   u(id)                            the batch id the ack names
 *   u(layout definitions)            at most 8; each: u(layout id), names(snmp), names(netstat)
 *                                    names = u(count) then count x text (a counter name)
 *   u(snapshots)                     1..64, each:
 *     u(layout id)                   declared earlier in this session (or in this frame)
 *     u(ts) u(seq) text(boot)
 *     bytes(values)                  the stored encoding (codec/snapshot-values.ts): zig-zag varints,
 *                                    the field table's stored fields (ipv4 x12, ipv6 x12, summary,
 *                                    sockstat, collect, interval_ms), then the layout's snmp and
 *                                    netstat counters
 *     u(error count) then text(error) each
 *     bytes(breakdown)               empty: none; else codec/breakdown-bytes.ts
 *
 * u = unsigned varint (7 bits a byte, low first, at most 8 bytes); text and bytes = u(length)
 * then the bytes. The frame must end exactly after the last snapshot.
 *
 * Frame type 0xB2 is the same with the snapshots' namespace part (model/namespace-entry.ts):
 * container definitions after the layout definitions and a namespace part after each breakdown,
 * coded by codec/namespaces-bytes.ts. It goes only to a collector whose welcome lists the
 * feature "ns1"; a batch without namespaces is still 0xB1.
 *
 * A snapshot in this frame carries no host and no labels: they are the session's (the host the
 * token or hello bound, the labels of the hello), so a bin1 batch cannot name another host.
 * Every limit and range of the JSON schema (model/snapshot.ts) holds here too.
 */
import { SNAPSHOT_LIMITS as L } from '../model/limits.js';
import type { Snapshot } from '../model/snapshot.js';
import { PLAN, countNumbers, storedVersion } from '../model/field-plan.js';
import type { FieldPlan } from '../model/field-plan.js';
import { MAX_BATCH } from './limits.js';
import { VarintWriter } from '../codec/varint.js';
import { WireReader } from '../codec/wire-reader.js';
import { VALUES, compileSectionsBuilder, layoutOf } from '../codec/snapshot-values.js';
import type { SectionsBuilder, ValuesCodec } from '../codec/snapshot-values.js';
import { checkBreakdown, encodeBreakdown } from '../codec/breakdown-bytes.js';
import { LAZY_SECTIONS, PackedSnapshot, packedLayout } from './packed-snapshot.js';
import { NsDecoder, NsEncodeError, NsEncoder } from '../codec/namespaces-bytes.js';
import type { PackedLayout } from './packed-snapshot.js';

/** The encoding's name in the welcome's `encodings`. */
export const BIN1 = 'bin1';
/** First byte of a bin1 batch frame. */
export const BIN1_BATCH = 0xb1;
/** First byte of a bin1 batch frame whose snapshots carry namespaces (sent only to a collector whose welcome lists the feature "ns1"). */
export const BIN1_NS_BATCH = 0xb2;
/** Limits of the binary frame beyond those of a snapshot. */
export const BIN1_LIMITS = {
  /** Snapshots in one frame: as in a JSON batch. */
  snapshots: MAX_BATCH,
  layoutsPerFrame: 8,
  layoutsPerSession: 32,
  layoutId: 1_000_000,
  valuesBytes: 16 * 1024,
  breakdownBytes: 64 * 1024,
  errorBytes: 4 * 512,
} as const;

const bootByte = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || c === 45;
const nameByte = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** One connection's encoder on the agent: remembers which layouts this collector session knows. */
export class Bin1Encoder {
  readonly #ids = new Map<string, number>();
  readonly #w = new VarintWriter();
  readonly #values: ValuesCodec;
  readonly #ns = new NsEncoder();
  /** True when the last encode() returned null because the frame would have been larger than maxBytes. */
  tooBig = false;

  /** `values`: the stored encoding of the field table in use (tests pass another). */
  constructor(values: ValuesCodec = VALUES) {
    this.#values = values;
  }

  /**
   * The frame for a batch, or null when it cannot be encoded as bin1 (then send JSON) or would be
   * larger than `maxBytes` (then `tooBig`; send fewer snapshots). Only a frame returned changes
   * the session's state (layouts, containers, namespace references): send every frame returned.
   */
  encode(id: number, snaps: readonly Snapshot[], maxBytes = Infinity): Buffer | null {
    this.tooBig = false;
    if (snaps.length < 1 || snaps.length > BIN1_LIMITS.snapshots) return null;
    const defs: { id: number; text: string; snmp: string[]; netstat: string[] }[] = [];
    const lids: number[] = [];
    for (const s of snaps) {
      const text = layoutOf(s);
      let lid = this.#ids.get(text) ?? defs.find((d) => d.text === text)?.id;
      if (lid === undefined) {
        lid = this.#ids.size + defs.length + 1;
        defs.push({ id: lid, text, snmp: Object.keys(s.snmp), netstat: Object.keys(s.netstat) });
      }
      lids.push(lid);
    }
    if (defs.length > BIN1_LIMITS.layoutsPerFrame || this.#ids.size + defs.length > BIN1_LIMITS.layoutsPerSession) return null;
    const w = this.#w.reset();
    const withNs = NsEncoder.carries(snaps);
    w.putByte(withNs ? BIN1_NS_BATCH : BIN1_BATCH);
    w.putU(id);
    w.putU(defs.length);
    for (const d of defs) {
      w.putU(d.id);
      for (const names of [d.snmp, d.netstat]) {
        w.putU(names.length);
        for (const n of names) w.putText(n);
      }
    }
    try {
      if (withNs) this.#ns.begin(w, snaps);
      this.#snapshots(w, snaps, lids, withNs);
    } catch (err) {
      this.#ns.abort();
      if (err instanceof NsEncodeError) return null;
      throw err;
    }
    if (w.pos > maxBytes) {
      this.#ns.abort();
      this.tooBig = true;
      return null;
    }
    for (const d of defs) this.#ids.set(d.text, d.id);
    if (withNs) this.#ns.commit();
    return w.bytes();
  }

  #snapshots(w: VarintWriter, snaps: readonly Snapshot[], lids: readonly number[], withNs: boolean): void {
    w.putU(snaps.length);
    const part = new VarintWriter();
    snaps.forEach((s, i) => {
      w.putU(lids[i]!);
      w.putU(s.ts);
      w.putU(s.seq);
      w.putText(s.boot);
      const vals = this.#values.encode(s);
      w.putU(vals.length);
      w.putBytes(vals);
      w.putU(s.collect.errors.length);
      for (const e of s.collect.errors) w.putText(e);
      if (s.breakdown === undefined) w.putU(0);
      else {
        encodeBreakdown(part.reset(), s.breakdown);
        w.putU(part.pos);
        w.putBytes(part.buf.subarray(0, part.pos));
      }
      if (withNs) this.#ns.snapshot(w, s);
    });
  }
}

/** Layouts shared by every session (most of a fleet runs a handful of kernels). */
const interned = new Map<string, PackedLayout>();
const MAX_INTERNED = 1024;

function intern(snmp: string[], netstat: string[]): PackedLayout {
  const l = packedLayout(snmp, netstat);
  const known = interned.get(l.text);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(l.text, l);
  return l;
}

/** Layouts by their encoded bytes: a known kernel's declaration is recognised without decoding 190 names. */
const byBytes = new Map<string, PackedLayout>();

/** Skips one names section (lengths only); fails as readNames would on a cut frame. */
function skipNames(r: WireReader, section: string): void {
  const n = r.u(`layout ${section} count`, L.counters);
  for (let i = 0; i < n; i++) r.bytes(`layout ${section} name`, L.counterNameLength);
}

/** A layout definition: interned by its bytes when seen before, else decoded, checked and interned. */
function readLayout(r: WireReader): PackedLayout {
  const start = r.pos;
  skipNames(r, 'snmp');
  skipNames(r, 'netstat');
  const key = latin1.decode(r.buf.subarray(start, r.pos));
  const known = byBytes.get(key);
  if (known !== undefined) return known;
  r.pos = start;
  const l = intern(readNames(r, 'snmp'), readNames(r, 'netstat'));
  if (byBytes.size < MAX_INTERNED) byBytes.set(key, l);
  return l;
}

const latin1 = new TextDecoder('latin1');

function readNames(r: WireReader, section: string): string[] {
  const n = r.u(`layout ${section} count`, L.counters);
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const name = r.ascii(`layout ${section} name`, 1, L.counterNameLength, nameByte, 'letters, digits and _ only');
    if (seen.has(name)) r.fail(`layout ${section} name ${name} appears twice`);
    seen.add(name);
    names.push(name);
  }
  return names;
}

/**
 * Reads and checks the fixed numbers of a values blob (the field table's stored fields, of the
 * version the blob's length says), failing with the field's name; leaves `v` at the counters.
 */
function readFixed(v: WireReader, plan: FieldPlan, counters: number, nums: number[]): void {
  const n = countNumbers(v.buf, v.pos, v.end);
  const version = storedVersion(n, counters, plan);
  if (version === undefined) {
    const fixed = plan.stored.map((x) => x.length).join(' or ');
    v.fail(`values: ${n} numbers, not ${fixed} fixed fields plus ${counters} counters (a newer agent? upgrade the collector first)`);
  }
  const slots = plan.stored[version - 1]!;
  if (slots.length < plan.latest.length) nums.fill(0);
  for (let i = 0; i < slots.length; i++) {
    const x = slots[i]!;
    let n: number;
    if (x.kind === 'signed') n = v.z(x.what);
    else if (x.kind === 'ms') {
      n = v.count(x.what);
      if (n > x.max * 1000) v.fail(`${x.what}: above ${x.max}`);
      n /= 1000;
    } else {
      n = v.count(x.what);
      if (n < x.min || n > x.max) v.fail(`${x.what}: ${n} is outside ${x.min}..${x.max}`);
    }
    nums[x.index] = n;
  }
}

/** The plain fields of a packed snapshot, as the sections builder makes them. */
type Head = ConstructorParameters<typeof PackedSnapshot>[0];

const EMPTY = new Uint8Array(0);

/** collect.errors of a snapshot without errors: one frozen empty list for all of them. */
const NO_ERRORS: readonly string[] = Object.freeze([]);

/**
 * A socket read holding more than this frame (beyond its WebSocket header, up to 14 bytes, and
 * this much room) is not kept alive by the snapshots' views of it: the collector keeps each host's
 * latest snapshot and queues others until their commit, so a view would pin the whole read
 * (several frames after a pause; 16 KiB per host before, up to 160 MB at 10,000 hosts). Reads of
 * up to 2 KiB were kept as views before: under a backlog every agent's read holds the several
 * frames it sent meanwhile, and those reads were most of the collector's ArrayBuffers (each
 * snapshot's copy is its own bytes only, ~0.3-0.6 KB; docs/performance.md, collector memory).
 */
const KEEP_VIEW_SLACK = 64;

/** A view of `len` bytes of `frame` at `at` (a plain Uint8Array: cheaper to make than a Buffer's subarray). */
function view(frame: Uint8Array, at: number, len: number): Uint8Array {
  return new Uint8Array(frame.buffer, frame.byteOffset + at, len);
}

/** A copy of `len` bytes of `frame` at `at`, made without a view of the frame (small runs: Buffer's pool). */
function copyOut(frame: Uint8Array, at: number, len: number): Uint8Array {
  const out = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) out[i] = frame[at + i]!;
  return out;
}

/**
 * The decoders' sections builders, by plan: their own (see compileSectionsBuilder), shared by
 * every session, leaving out what a PackedSnapshot builds when read (LAZY_SECTIONS).
 */
const builders = new WeakMap<FieldPlan, SectionsBuilder>();

function builderOf(plan: FieldPlan): SectionsBuilder {
  let b = builders.get(plan);
  if (b === undefined) builders.set(plan, (b = compileSectionsBuilder(plan, LAZY_SECTIONS)));
  return b;
}

/** One session's decoder on the collector: remembers the layouts this agent declared. */
export class Bin1Decoder {
  readonly #layouts = new Map<number, PackedLayout>();
  /**
   * The session's namespace state, made at its first namespace frame: most agents never send one,
   * and a collector holds one decoder per connected agent (its maps and buffer, ~0.5 KB each).
   */
  #nsState: NsDecoder | null = null;
  readonly #plan: FieldPlan;
  readonly #build: SectionsBuilder;
  /** The fixed numbers of the snapshot being decoded (reused: read into objects at once). */
  readonly #nums: number[];
  /** The reader of the frame being decoded (reused: one per session, not one per frame). */
  readonly #r = new WireReader(EMPTY);
  /**
   * The plain fields of the snapshot being decoded, filled by the sections builder and copied by
   * PackedSnapshot's constructor (reused: one object a session, not one a snapshot; its sections
   * are let go once copied).
   */
  readonly #head = {} as Record<string, unknown>;
  /** The boot id of the last snapshot: the same in every snapshot of a session, built once. */
  #boot = '';

  /** `plan`: the field table the values follow (tests pass another). */
  constructor(plan: FieldPlan = PLAN) {
    this.#plan = plan;
    this.#build = builderOf(plan);
    // An array of any values (not numbers only): whole numbers stay small integers in it, so the
    // objects built from it hold them unboxed. In a number-only array, the first fraction stored
    // (collect.ms) turns every element into a double, and every number read from it is boxed.
    this.#nums = Array.from({ length: plan.latest.length }, () => null as unknown as number).fill(0);
  }

  /** Number of layouts this session declared. */
  get layouts(): number {
    return this.#layouts.size;
  }

  /**
   * Decodes and checks a bin1 batch frame; its snapshots get the session's host and labels.
   * Throws ProtocolError (close code 4000) naming what was wrong; then nothing of the frame counts.
   */
  decode(frame: Uint8Array, host: string, labels: Record<string, string>): { type: 'batch'; id: number; snapshots: Snapshot[] } {
    const r = this.#r.reset(frame);
    const plan = this.#plan;
    if (frame.length === 0 || (frame[0] !== BIN1_BATCH && frame[0] !== BIN1_NS_BATCH)) r.fail(`unknown frame type ${frame[0] ?? '(empty frame)'}`);
    const withNs = frame[0] === BIN1_NS_BATCH;
    r.pos = 1;
    const id = r.u('id');
    const nDefs = r.u('layout definitions', BIN1_LIMITS.layoutsPerFrame);
    // Most frames declare nothing (a layout is declared once per session): no map for them.
    const fresh = nDefs === 0 ? null : new Map<number, PackedLayout>();
    for (let i = 0; i < nDefs; i++) {
      const lid = r.u('layout id', BIN1_LIMITS.layoutId);
      if (this.#layouts.has(lid) || fresh!.has(lid)) r.fail(`layout ${lid} declared twice`);
      if (this.#layouts.size + fresh!.size >= BIN1_LIMITS.layoutsPerSession) r.fail(`more than ${BIN1_LIMITS.layoutsPerSession} layouts in one session`);
      fresh!.set(lid, readLayout(r));
    }
    const ns = withNs ? (this.#nsState ??= new NsDecoder()) : null;
    ns?.begin(r);
    const n = r.u('snapshot count', BIN1_LIMITS.snapshots);
    if (n < 1) r.fail('snapshot count: at least 1');
    const copy = frame.buffer.byteLength > frame.length + KEEP_VIEW_SLACK;
    const frameEnd = r.end;
    const head = this.#head;
    const snapshots: Snapshot[] = [];
    for (let i = 0; i < n; i++) {
      r.snapshot = i + 1;
      const lid = r.u('layout id', BIN1_LIMITS.layoutId);
      const layout = fresh?.get(lid) ?? this.#layouts.get(lid) ?? r.fail(`layout ${lid} was not declared in this session`);
      const ts = r.u('ts');
      const seq = r.u('seq');
      if (seq < 1) r.fail('seq: at least 1');
      const boot = (this.#boot = r.asciiOr(this.#boot, 'boot', 8, 64, bootByte, 'a hex id'));
      // The values blob and the breakdown are checked where they lie in the frame (the reader's
      // end moved to theirs), without a view or a reader of their own.
      const vLen = r.skip('values', BIN1_LIMITS.valuesBytes);
      const vEnd = r.pos;
      const vAt = vEnd - vLen;
      r.pos = vAt;
      r.end = vEnd;
      const nCounters = layout.snmp.length + layout.netstat.length;
      const nums = this.#nums;
      readFixed(r, plan, nCounters, nums);
      const countersAt = r.pos - vAt;
      for (let k = 0; k < nCounters; k++) r.z('counter');
      r.expectEnd('values');
      r.end = frameEnd;
      const nErrors = r.u('error count', L.errors);
      let errors = NO_ERRORS;
      if (nErrors > 0) {
        const list: string[] = [];
        for (let k = 0; k < nErrors; k++) {
          const e = r.text('error', BIN1_LIMITS.errorBytes);
          if (e.length > L.errorLength) r.fail(`error: longer than ${L.errorLength} characters`);
          list.push(e);
        }
        errors = list;
      }
      const bLen = r.skip('breakdown', BIN1_LIMITS.breakdownBytes);
      const bEnd = r.pos;
      if (bLen > 0) {
        r.pos = bEnd - bLen;
        r.end = bEnd;
        checkBreakdown(r);
        r.end = frameEnd;
      }
      const values = copy ? copyOut(frame, vAt, vLen) : view(frame, vAt, vLen);
      const breakdown = bLen === 0 ? null : copy ? copyOut(frame, bEnd - bLen, bLen) : view(frame, bEnd - bLen, bLen);
      head['host'] = host;
      head['ts'] = ts;
      head['seq'] = seq;
      head['boot'] = boot;
      head['labels'] = labels;
      this.#build(nums, null, head, errors);
      const snap = new PackedSnapshot(head as unknown as Head, { layout, values, countersAt, breakdown, plan });
      // The head lets go of the sections it was given: kept until the session's next snapshot (a
      // second), they outlived the young generation and died in old space (a major GC every ~2 s
      // at 5,000 snapshots a second). The fields stay, as null: the head keeps its shape.
      head['states'] = head['summary'] = head['collect'] = null;
      ns?.snapshot(r, snap, layout.snmp);
      snapshots.push(snap as unknown as Snapshot);
    }
    r.snapshot = 0;
    r.expectEnd('frame');
    if (fresh !== null) for (const [lid, l] of fresh) this.#layouts.set(lid, l);
    ns?.commit();
    // The reader lets go of the frame: it would otherwise pin the socket read it is part of.
    r.reset(EMPTY);
    return { type: 'batch', id, snapshots };
  }
}
