/**
 * The `namespaces` part of a bin1 frame (protocol/bin1.ts, frame type 0xB2; docs/protocol.md):
 * a snapshot's collect.namespaces and its namespace entries, each entry coded against the same
 * network namespace in the previous snapshot that carried namespaces in this session (its
 * "reference"), and container identities declared once per session in slots.
 *
 * An entry's numbers are sent as differences from a prediction, only where they differ:
 *   ipv4, ipv6       the reference's (0 without one)
 *   sockstat         host-wide fields (scope 'host': alloc, orphan, mem): the snapshot's own top-level
 *                    value (the same file); the namespace's own fields: the reference's
 *   snmp             the reference's, when the counter names are the same (else 0)
 *   summary          what the field table derives from this entry's sockstat and snmp (ss -s)
 *   states           ipv4 + ipv6
 *   states_age_ms    the reference's plus the time between the two snapshots
 * so a namespace where nothing moved costs about 6 bytes, and one with traffic a few more.
 * The decoded entry is exactly what was sent: every difference is an exact integer (ms of
 * collect.namespaces travel as whole microseconds, like collect.ms).
 *
 * Both sides keep the same state (the references and the container slots) and change it only
 * for a frame that was encoded and sent (agent) or decoded whole (collector); a new session
 * starts empty. Memory: at most NAMESPACE_WIRE_LIMITS.entries references (of the last snapshot)
 * and CONTAINER_SLOTS containers per session.
 */
import { NAMESPACE_LIMITS, NAMESPACE_WIRE_LIMITS, CONTAINER_RUNTIMES, CONTAINER_ID_PATTERN, POD_UID_PATTERN, NAME_PATTERN } from '../model/namespace-entry.js';
import type { ContainerIdentity, NamespaceEntry, NamespacesCollect } from '../model/namespace-entry.js';
import { NS_COLLECT_COUNTS, NS_COLLECT_MS, NS_COLLECT_MS_MAX, NS_SECTIONS } from '../model/namespace-plan.js';
import { SUMMARY_FORMULAS } from '../model/fields.js';
import type { CheapFigures, Sockstat } from '../model/fields.js';
import { SNAPSHOT_LIMITS as L } from '../model/limits.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Counters } from '../proc/header-value-pairs.js';
import type { VarintWriter } from './varint.js';
import type { WireReader } from './wire-reader.js';

const MAX = Number.MAX_SAFE_INTEGER;
const NW = NAMESPACE_WIRE_LIMITS;

/** Container slots one session may hold; a slot is redefined when the agent needs room. */
export const CONTAINER_SLOTS = 8192;

/** Entry flags: which optional parts follow. */
const F_UNCHANGED = 1;
const F_PID = 2;
const F_CONTAINER = 4;
const F_SNMP_NAMES = 8;
const F_ERRORS = 16;
const F_SKIPPED = 32;
const F_ALL = 63;
/** Container fields present. */
const C_POD_UID = 1;
const C_POD = 2;
const C_NAMESPACE = 4;
const C_NAME = 8;
const C_OTHER_IDS = 16;

type Prediction = 'ref' | 'host' | 'derive' | 'sum';

/** One of an entry's fixed numbers, in wire order: ipv4, ipv6, sockstat, summary, states. */
interface NsSlot {
  readonly section: string;
  readonly name: string;
  /** What an error names: "ipv4", "summary.closed". */
  readonly what: string;
  readonly min: number;
  readonly max: number;
  readonly pred: Prediction;
  /** Position of this field in the reference's numbers (ipv4, ipv6, sockstat; -1 for the others). */
  readonly ref: number;
  readonly derive?: (c: CheapFigures) => number;
}

const WIRE_ORDER = ['ipv4', 'ipv6', 'sockstat', 'summary', 'states'] as const;
const SLOTS: readonly NsSlot[] = (() => {
  const out: NsSlot[] = [];
  let ref = 0;
  for (const key of WIRE_ORDER) {
    const p = NS_SECTIONS.find((x) => x.key === key)!;
    for (const x of p.numbers) {
      const def = p.def.fields.find((f) => f.name === x.name)!;
      const pred: Prediction = key === 'states' ? 'sum' : key === 'summary' ? 'derive' : key === 'sockstat' && def.scope === 'host' ? 'host' : 'ref';
      const derive = SUMMARY_FORMULAS.find((f) => f.name === x.name)?.derive;
      out.push({ section: key, name: x.name, what: x.what, min: x.min, max: x.max, pred, ref: pred === 'ref' ? ref++ : -1, ...(pred === 'derive' && derive !== undefined ? { derive } : {}) });
    }
  }
  return out;
})();
const REF_NUMBERS = SLOTS.filter((s) => s.pred === 'ref').length;

/** What the next snapshot's entry of the same namespace is coded against. */
interface NsRef {
  readonly pid: number;
  readonly age: number;
  /** ts of the snapshot it came from. */
  readonly ts: number;
  /** Container slot, or -1 for null. */
  readonly container: number;
  /** ipv4, ipv6 and the namespace's own sockstat numbers (slots with pred 'ref'). */
  readonly numbers: Float64Array;
  /** snmp names joined with ",", and values in that order. */
  readonly snmpKey: string;
  readonly snmpNames: readonly string[];
  readonly snmp: Float64Array;
}

/** Thrown by the encoder when an entry cannot be coded (a number out of range): the batch goes as JSON. */
export class NsEncodeError extends Error {}

const nameByte = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const hexByte = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102);

/** actual - predicted, when the decoder's predicted + difference gives back exactly `actual`. */
function diffOf(actual: number, predicted: number): number {
  const d = actual - predicted;
  if (!Number.isSafeInteger(d) || !Number.isSafeInteger(predicted) || predicted + d !== actual) throw new NsEncodeError(`a namespace number cannot be coded: ${actual} against ${predicted}`);
  return d;
}

const containerKey = (c: ContainerIdentity): string => JSON.stringify([c.runtime, c.id, c.pod_uid, c.pod, c.namespace, c.name, c.other_ids]);

/** The encoder's state after a frame (committed when the frame is sent). */
interface EncState {
  refs: Map<number, NsRef>;
  slots: (string | null)[];
  bySlot: Map<string, number>;
  lastUse: number[];
}

/** The agent's side: one per session, next to Bin1Encoder. */
export class NsEncoder {
  #refs = new Map<number, NsRef>();
  /** Container key by slot, and slot by key. */
  #slots: (string | null)[] = [];
  #bySlot = new Map<string, number>();
  #lastUse: number[] = [];
  #frame = 0;
  /** The state the frame being encoded leads to. */
  #next: EncState | null = null;

  /** True when any of the snapshots carries a namespace part (then the frame is 0xB2). */
  static carries(snaps: readonly Snapshot[]): boolean {
    return snaps.some((s) => s.namespaces !== undefined || s.collect.namespaces !== undefined);
  }

  /** Starts a frame: writes the container definitions it needs (u(count), then each). */
  begin(w: VarintWriter, snaps: readonly Snapshot[]): void {
    this.#frame++;
    const st: EncState = { refs: this.#refs, slots: [...this.#slots], bySlot: new Map(this.#bySlot), lastUse: [...this.#lastUse] };
    const used = new Set<number>();
    const defs: [number, ContainerIdentity][] = [];
    for (const s of snaps) {
      for (const e of s.namespaces ?? []) {
        if (e.container === null) continue;
        const key = containerKey(e.container);
        let slot = st.bySlot.get(key);
        if (slot === undefined) {
          slot = st.slots.length < CONTAINER_SLOTS ? st.slots.length : this.#evict(st, used);
          const old = st.slots[slot];
          if (old !== undefined && old !== null) st.bySlot.delete(old);
          st.slots[slot] = key;
          st.bySlot.set(key, slot);
          defs.push([slot, e.container]);
        }
        used.add(slot);
        st.lastUse[slot] = this.#frame;
      }
    }
    w.putU(defs.length);
    for (const [slot, c] of defs) writeContainer(w, slot, c);
    this.#next = st;
  }

  /** The least recently used slot not used by this frame. */
  #evict(st: EncState, used: ReadonlySet<number>): number {
    let best = -1;
    for (let i = 0; i < st.slots.length; i++) if (!used.has(i) && (best < 0 || (st.lastUse[i] ?? 0) < (st.lastUse[best] ?? 0))) best = i;
    if (best < 0) throw new NsEncodeError(`more than ${CONTAINER_SLOTS} containers in one frame`);
    return best;
  }

  /** Writes one snapshot's namespace part (after its breakdown). */
  snapshot(w: VarintWriter, s: Snapshot): void {
    const st = this.#next!;
    const k = s.collect.namespaces;
    const list = s.namespaces;
    w.putU((k !== undefined ? 1 : 0) | (list !== undefined ? 2 : 0));
    if (k !== undefined) {
      for (const name of NS_COLLECT_COUNTS) w.putU(k[name]);
      for (const name of NS_COLLECT_MS) w.putU(Math.round(k[name] * 1000));
      w.putU(k.errors.length);
      for (const e of k.errors) w.putText(e);
    }
    if (list === undefined) return;
    if (list.length > NW.entries) throw new NsEncodeError(`more than ${NW.entries} namespaces in one snapshot`);
    w.putU(list.length);
    const refs = new Map<number, NsRef>();
    const layoutNames = Object.keys(s.snmp);
    const layoutKey = layoutNames.join(',');
    let prev = 0;
    const diffs = new Float64Array(SLOTS.length);
    for (const e of list) {
      const ref = st.refs.get(e.netns);
      w.put(diffOf(e.netns, prev));
      prev = e.netns;
      const slot = e.container === null ? -1 : st.bySlot.get(containerKey(e.container))!;
      const snmpNames = Object.keys(e.snmp);
      const snmpKey = snmpNames.join(',');
      let flags = e.collect.states_unchanged ? F_UNCHANGED : 0;
      if (ref === undefined || ref.pid !== e.pid) flags |= F_PID;
      if ((ref?.container ?? -1) !== slot) flags |= F_CONTAINER;
      if (snmpKey !== (ref?.snmpKey ?? layoutKey)) flags |= F_SNMP_NAMES;
      if (e.collect.errors.length > 0) flags |= F_ERRORS;
      if (e.collect.skipped !== 0) flags |= F_SKIPPED;
      w.putU(flags);
      if (flags & F_PID) w.put(diffOf(e.pid, ref?.pid ?? 0));
      if (flags & F_CONTAINER) w.putU(slot + 1);
      // The fixed numbers: differences from their predictions, sparse.
      const numbers = new Float64Array(REF_NUMBERS);
      let changed = 0;
      const cheap = { sockstat: e.sockstat, snmp: e.snmp };
      for (let i = 0; i < SLOTS.length; i++) {
        const x = SLOTS[i]!;
        const actual = (e as unknown as Record<string, Record<string, number>>)[x.section]![x.name]!;
        let p: number;
        if (x.pred === 'ref') {
          p = ref?.numbers[x.ref] ?? 0;
          numbers[x.ref] = actual;
        } else if (x.pred === 'host') p = s.sockstat[x.name as keyof Sockstat];
        else if (x.pred === 'derive') p = x.derive!(cheap);
        else p = e.ipv4[x.name as keyof typeof e.ipv4] + e.ipv6[x.name as keyof typeof e.ipv6];
        diffs[i] = diffOf(actual, p);
        if (diffs[i] !== 0) changed++;
      }
      putSparse(w, diffs, changed);
      if (flags & F_SNMP_NAMES) {
        w.putU(snmpNames.length);
        for (const n of snmpNames) w.putText(n);
      }
      const snmp = new Float64Array(snmpNames.length);
      const sameNames = ref !== undefined && ref.snmpKey === snmpKey;
      const sd = new Float64Array(snmpNames.length);
      let sc = 0;
      snmpNames.forEach((n, i) => {
        snmp[i] = e.snmp[n]!;
        sd[i] = diffOf(snmp[i], sameNames ? (ref.snmp[i] ?? 0) : 0);
        if (sd[i] !== 0) sc++;
      });
      putSparse(w, sd, sc);
      const age = e.collect.states_age_ms;
      w.put(diffOf(age, ref === undefined ? 0 : ref.age + (s.ts - ref.ts)));
      if (flags & F_SKIPPED) w.putU(e.collect.skipped);
      if (flags & F_ERRORS) {
        w.putU(e.collect.errors.length);
        for (const t of e.collect.errors) w.putText(t);
      }
      refs.set(e.netns, { pid: e.pid, age, ts: s.ts, container: slot, numbers, snmpKey, snmpNames, snmp });
    }
    st.refs = refs;
  }

  /** The frame was sent: its state becomes the session's. */
  commit(): void {
    const st = this.#next;
    if (st === null) return;
    this.#refs = st.refs;
    this.#slots = st.slots;
    this.#bySlot = st.bySlot;
    this.#lastUse = st.lastUse;
    this.#next = null;
  }

  /** The frame was not sent. */
  abort(): void {
    this.#next = null;
  }
}

/** The differences that are not 0: u(count), then for each u(gap since the previous one) and z(difference). */
function putSparse(w: VarintWriter, d: Float64Array, changed: number): void {
  w.putU(changed);
  let last = -1;
  for (let i = 0; i < d.length; i++) {
    if (d[i] === 0) continue;
    w.putU(i - last - 1);
    w.put(d[i]!);
    last = i;
  }
}

function writeContainer(w: VarintWriter, slot: number, c: ContainerIdentity): void {
  w.putU(slot);
  w.putU(CONTAINER_RUNTIMES.indexOf(c.runtime));
  w.putText(c.id);
  const mask =
    (c.pod_uid !== undefined ? C_POD_UID : 0) |
    (c.pod !== undefined ? C_POD : 0) |
    (c.namespace !== undefined ? C_NAMESPACE : 0) |
    (c.name !== undefined ? C_NAME : 0) |
    (c.other_ids !== undefined ? C_OTHER_IDS : 0);
  w.putU(mask);
  for (const t of [c.pod_uid, c.pod, c.namespace, c.name]) if (t !== undefined) w.putText(t);
  if (c.other_ids !== undefined) {
    w.putU(c.other_ids.length);
    for (const id of c.other_ids) w.putText(id);
  }
}

/** A name of a container, checked as the JSON schema checks it (model/snapshot.ts ContainerSchema). */
function readName(r: WireReader, what: string, max: number): string {
  const s = r.text(what, max * 4);
  if (s.length < 1 || s.length > max) r.fail(`${what}: 1 to ${max} characters`);
  if (!NAME_PATTERN.test(s)) r.fail(`${what}: no control characters, bidi or invisible formatting marks`);
  return s;
}

const readId = (r: WireReader, what: string): string => {
  const id = r.ascii(what, 12, NAMESPACE_LIMITS.idLength, hexByte, 'lowercase hex digits');
  if (!CONTAINER_ID_PATTERN.test(id)) r.fail(`${what}: lowercase hex digits`);
  return id;
};

function readContainer(r: WireReader): ContainerIdentity {
  const rt = r.u('container runtime', CONTAINER_RUNTIMES.length - 1);
  const c: ContainerIdentity = { runtime: CONTAINER_RUNTIMES[rt]!, id: readId(r, 'container id') };
  const mask = r.u('container fields', 31);
  if (mask & C_POD_UID) {
    const uid = r.ascii('container pod_uid', 8, NW.podUidLength, (b) => hexByte(b) || b === 45, 'lowercase hex digits and -');
    if (!POD_UID_PATTERN.test(uid)) r.fail('container pod_uid: lowercase hex digits and -');
    c.pod_uid = uid;
  }
  if (mask & C_POD) c.pod = readName(r, 'container pod', NAMESPACE_LIMITS.podLength);
  if (mask & C_NAMESPACE) c.namespace = readName(r, 'container namespace', NAMESPACE_LIMITS.namespaceLength);
  if (mask & C_NAME) c.name = readName(r, 'container name', NAMESPACE_LIMITS.nameLength);
  if (mask & C_OTHER_IDS) {
    const n = r.u('container other_ids count', NAMESPACE_LIMITS.otherIds);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(readId(r, 'container other_ids'));
    c.other_ids = ids;
  }
  return Object.freeze(c);
}

function readTexts(r: WireReader, what: string): string[] {
  const n = r.u(`${what} count`, NAMESPACE_LIMITS.errors);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = r.text(what, NW.errorLength * 4);
    if (t.length > NW.errorLength) r.fail(`${what}: longer than ${NW.errorLength} characters`);
    out.push(t);
  }
  return out;
}

/** Reads u(count) then count x (u(gap), z(difference)) into `d` (zeroed), failing on a position past `size`. */
function readSparse(r: WireReader, d: Float64Array, what: string): void {
  d.fill(0);
  const n = r.u(`${what} count`, d.length);
  let i = -1;
  for (let k = 0; k < n; k++) {
    i += 1 + r.u(`${what} position`, d.length);
    if (i >= d.length) r.fail(`${what} position: past the last of ${d.length}`);
    d[i] = r.z(what);
  }
}

/** The collector's side: one per session, next to Bin1Decoder. */
export class NsDecoder {
  #refs = new Map<number, NsRef>();
  readonly #containers = new Map<number, ContainerIdentity>();
  /** This frame's container definitions and references (kept only when the whole frame decodes). */
  #fresh = new Map<number, ContainerIdentity>();
  #nextRefs: Map<number, NsRef> | null = null;
  readonly #diffs = new Float64Array(SLOTS.length);

  /** Containers this session declared. */
  get containers(): number {
    return this.#containers.size;
  }

  /** Reads a frame's container definitions. */
  begin(r: WireReader): void {
    this.#fresh = new Map();
    this.#nextRefs = this.#refs;
    const n = r.u('container definitions', CONTAINER_SLOTS);
    for (let i = 0; i < n; i++) {
      const slot = r.u('container slot', CONTAINER_SLOTS - 1);
      if (this.#fresh.has(slot)) r.fail(`container slot ${slot} declared twice in one frame`);
      this.#fresh.set(slot, readContainer(r));
    }
  }

  /** Reads one snapshot's namespace part into `snap` (its collect.namespaces and namespaces). */
  snapshot(r: WireReader, snap: { ts: number; sockstat: Sockstat; collect: { namespaces?: NamespacesCollect }; namespaces?: NamespaceEntry[] }, layoutSnmp: readonly string[]): void {
    const parts = r.u('namespace parts', 3);
    if (parts & 1) {
      const k = {} as NamespacesCollect;
      for (const name of NS_COLLECT_COUNTS) k[name] = r.u(`collect.namespaces.${name}`);
      for (const name of NS_COLLECT_MS) k[name] = r.u(`collect.namespaces.${name}`, NS_COLLECT_MS_MAX * 1000) / 1000;
      k.errors = readTexts(r, 'collect.namespaces.errors');
      snap.collect.namespaces = k;
    }
    if (!(parts & 2)) return;
    const n = r.u('namespace count', NW.entries);
    const before = this.#nextRefs!;
    const refs = new Map<number, NsRef>();
    const list: NamespaceEntry[] = [];
    const layoutKey = layoutSnmp.join(',');
    let prev = 0;
    const d = this.#diffs;
    for (let j = 0; j < n; j++) {
      const at = `namespaces[${j}]`;
      const netns = prev + r.z(`${at}.netns`);
      if (!Number.isSafeInteger(netns) || netns < 1) r.fail(`${at}.netns: ${netns} is not a positive integer`);
      if (refs.has(netns)) r.fail(`${at}.netns: ${netns} appears twice`);
      prev = netns;
      const ref = before.get(netns);
      const flags = r.u(`${at} flags`, F_ALL);
      let pid = ref?.pid;
      if (flags & F_PID) pid = (ref?.pid ?? 0) + r.z(`${at}.pid`);
      if (pid === undefined) r.fail(`${at}.pid: missing for a namespace new to this session`);
      if (!Number.isSafeInteger(pid) || pid < 1 || pid > NW.pidMax) r.fail(`${at}.pid: ${pid} is outside 1..${NW.pidMax}`);
      let slot = ref?.container ?? -1;
      if (flags & F_CONTAINER) slot = r.u(`${at}.container`, CONTAINER_SLOTS) - 1;
      let container: ContainerIdentity | null = null;
      if (slot >= 0) container = this.#fresh.get(slot) ?? this.#containers.get(slot) ?? r.fail(`${at}.container: slot ${slot} was not declared in this session`);
      readSparse(r, d, `${at} numbers`);
      let snmpNames = ref?.snmpNames ?? layoutSnmp;
      let snmpKey = ref?.snmpKey ?? layoutKey;
      if (flags & F_SNMP_NAMES) {
        const count = r.u(`${at}.snmp count`, L.counters);
        const names: string[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < count; i++) {
          const name = r.ascii(`${at}.snmp name`, 1, L.counterNameLength, nameByte, 'letters, digits and _ only');
          if (seen.has(name)) r.fail(`${at}.snmp name ${name} appears twice`);
          seen.add(name);
          names.push(name);
        }
        snmpNames = names;
        snmpKey = names.join(',');
      }
      const sd = new Float64Array(snmpNames.length);
      readSparse(r, sd, `${at}.snmp`);
      const sameNames = ref !== undefined && ref.snmpKey === snmpKey;
      const snmpValues = new Float64Array(snmpNames.length);
      const snmp: Counters = {};
      for (let i = 0; i < snmpNames.length; i++) {
        const v = (sameNames ? ref.snmp[i]! : 0) + sd[i]!;
        if (!Number.isSafeInteger(v)) r.fail(`${at}.snmp.${snmpNames[i]!}: ${v} is not an integer within ±${MAX}`);
        snmpValues[i] = v;
        snmp[snmpNames[i]!] = v;
      }
      // The fixed numbers, in wire order: ipv4, ipv6, sockstat, then summary (needs sockstat and snmp), then states (ipv4 + ipv6).
      const sections: Record<string, Record<string, number>> = { ipv4: {}, ipv6: {}, sockstat: {}, summary: {}, states: {} };
      const numbers = new Float64Array(REF_NUMBERS);
      const cheap = { sockstat: sections['sockstat'] as unknown as Sockstat, snmp };
      for (let i = 0; i < SLOTS.length; i++) {
        const x = SLOTS[i]!;
        let p: number;
        if (x.pred === 'ref') p = ref?.numbers[x.ref] ?? 0;
        else if (x.pred === 'host') p = snap.sockstat[x.name as keyof Sockstat];
        else if (x.pred === 'derive') p = x.derive!(cheap);
        else p = sections['ipv4']![x.name]! + sections['ipv6']![x.name]!;
        const v = p + d[i]!;
        if (!Number.isSafeInteger(v) || v < x.min || v > x.max) r.fail(`${at}.${x.what}: ${v} is outside ${x.min}..${x.max}`);
        sections[x.section]![x.name] = v;
        if (x.ref >= 0) numbers[x.ref] = v;
      }
      const age = (ref === undefined ? 0 : ref.age + (snap.ts - ref.ts)) + r.z(`${at}.collect.states_age_ms`);
      if (!Number.isSafeInteger(age) || age < 0) r.fail(`${at}.collect.states_age_ms: ${age} is outside 0..${MAX}`);
      const skipped = flags & F_SKIPPED ? r.u(`${at}.collect.skipped`) : 0;
      const errors = flags & F_ERRORS ? readTexts(r, `${at}.collect.errors`) : [];
      list.push({
        netns,
        pid,
        container,
        states: sections['states'] as unknown as NamespaceEntry['states'],
        ipv4: sections['ipv4'] as unknown as NamespaceEntry['ipv4'],
        ipv6: sections['ipv6'] as unknown as NamespaceEntry['ipv6'],
        summary: sections['summary'] as unknown as NamespaceEntry['summary'],
        sockstat: sections['sockstat'] as unknown as Sockstat,
        snmp,
        collect: { states_age_ms: age, states_unchanged: (flags & F_UNCHANGED) !== 0, skipped, errors },
      });
      refs.set(netns, { pid, age, ts: snap.ts, container: slot, numbers, snmpKey, snmpNames, snmp: snmpValues });
    }
    this.#nextRefs = refs;
    snap.namespaces = list;
  }

  /** The whole frame decoded: its definitions and references become the session's. */
  commit(): void {
    for (const [slot, c] of this.#fresh) this.#containers.set(slot, c);
    this.#fresh = new Map();
    if (this.#nextRefs !== null) this.#refs = this.#nextRefs;
    this.#nextRefs = null;
  }
}
