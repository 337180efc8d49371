/**
 * A hand-written check of `batch` messages, the collector's hot path (zod costs about 135 µs per
 * snapshot there; this about 10). It accepts only what AgentMessageSchema accepts, with the same
 * output (unknown keys of the message, snapshots and collect dropped, as z.object does); for
 * anything it is not sure of it returns null and the caller falls back to the zod schema, which
 * then decides and words the error. test/common/protocol/fast-batch.test.ts keeps the two in step.
 */
import { SNAPSHOT_LIMITS as L } from '../model/snapshot.js';
import type { Snapshot } from '../model/snapshot.js';
import { PLAN, SNAPSHOT_KEYS, sectionPlan } from '../model/field-plan.js';
import { compile, key } from '../util/compile.js';
import type { SectionPlan, Slot } from '../model/field-plan.js';
import { BOOT_ID_PATTERN, COUNTER_NAME_PATTERN, HOST_ID_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, PEER_ADDR_PATTERN } from '../model/identity.js';
import type { BatchMessage } from './messages.js';
import { CONTAINER_ID_PATTERN, CONTAINER_RUNTIMES, NAMESPACE_LIMITS, NAMESPACE_WIRE_LIMITS, NAME_PATTERN, POD_UID_PATTERN } from '../model/namespace-entry.js';
import { NS_COLLECT_COUNTS, NS_COLLECT_MS, NS_COLLECT_MS_MAX, NS_SECTIONS } from '../model/namespace-plan.js';
import { MAX_BATCH } from './messages.js';

const MAX = Number.MAX_SAFE_INTEGER;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isCount = (v: unknown): v is number => isInt(v, 0, MAX);
const isSigned = (v: unknown): v is number => isInt(v, -MAX, MAX);
const safeKey = (k: string): boolean => k !== '__proto__' && k !== 'constructor' && k !== 'prototype';

/** Exactly the listed keys, each passing `ok` (strictObject). */
function exact(v: unknown, keys: readonly string[], ok: (x: unknown) => boolean): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) return false;
    n++;
  }
  if (n !== keys.length) return false;
  for (const k of keys) if (!Object.hasOwn(v, k) || !ok(v[k])) return false;
  return true;
}

/** A number of the field table within its kind and range. */
function fits(x: Slot, v: unknown): boolean {
  if (typeof v !== 'number') return false;
  if (x.kind === 'ms') return v >= x.min && v <= x.max;
  return Number.isInteger(v) && v >= x.min && v <= x.max;
}

/** A fixed section of the field table, checked once per snapshot from arrays built at load. */
interface SectionCheck {
  readonly key: string;
  readonly plan: SectionPlan;
  /** snmp, netstat: counters by kernel name. */
  readonly open: boolean;
  /** Unknown keys refused (strictObject) or dropped (object). */
  readonly strict: boolean;
  /** Required (since 1) numbers and their rules; later (optional) ones. */
  readonly required: readonly Slot[];
  readonly optional: readonly Slot[];
  readonly texts: readonly string[];
}

const checkOf = (p: SectionPlan): SectionCheck => ({
  key: p.key!,
  plan: p,
  open: p.def.open !== undefined,
  strict: p.def.strict,
  required: p.numbers.filter((x) => x.since === 1),
  optional: p.numbers.filter((x) => x.since > 1),
  texts: p.texts,
});

/** The fields of a strict section: exactly the required ones (plus later ones, which may be missing). */
function strictSection(c: SectionCheck, v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) return false;
    n++;
  }
  for (const x of c.required) if (!Object.hasOwn(v, x.name) || !fits(x, v[x.name])) return false;
  let present = c.required.length;
  for (const x of c.optional) {
    if (!Object.hasOwn(v, x.name)) continue;
    if (!fits(x, v[x.name])) return false;
    present++;
  }
  return n === present;
}

/** The section's object as output: the input itself, or a copy with later fields filled in (0) and in table order. */
function complete(c: SectionCheck, v: Obj): Obj {
  if (c.optional.length === 0) return v;
  let all = true;
  for (const x of c.optional) all &&= Object.hasOwn(v, x.name);
  if (all) return v;
  const out: Obj = {};
  for (const name of c.plan.names) out[name] = v[name] ?? 0;
  return out;
}

const STATES = checkOf(sectionPlan('states'));
const states = (v: unknown): boolean => strictSection(STATES, v);

function labels(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !safeKey(k)) return false;
    const x = v[k];
    if (k.length > L.labelKeyLength || !LABEL_KEY_PATTERN.test(k) || typeof x !== 'string' || x.length > L.labelValueLength || !LABEL_VALUE_PATTERN.test(x)) return false;
    n++;
  }
  return n <= L.labels;
}

/** An open section: counters by kernel name. */
function counters(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !safeKey(k)) return false;
    if (k.length > L.counterNameLength || !COUNTER_NAME_PATTERN.test(k) || !isSigned(v[k])) return false;
    n++;
  }
  return n <= L.counters;
}

function breakdown(v: unknown): boolean {
  if (!isObj(v)) return false;
  const inbound = v['inbound'];
  const outbound = v['outbound'];
  if (!exact(v, ['inbound', 'outbound', 'other'], () => true)) return false;
  if (!Array.isArray(inbound) || inbound.length > L.breakdownEntries || !Array.isArray(outbound) || outbound.length > L.breakdownEntries) return false;
  for (const e of inbound as unknown[]) if (!exact(e, ['port', 'states'], () => true) || !isInt((e as Obj)['port'], 0, 65535) || !states((e as Obj)['states'])) return false;
  for (const e of outbound as unknown[]) {
    if (!exact(e, ['addr', 'port', 'states'], () => true)) return false;
    const a = (e as Obj)['addr'];
    if (typeof a !== 'string' || a.length > 45 || !PEER_ADDR_PATTERN.test(a) || !isInt((e as Obj)['port'], 0, 65535) || !states((e as Obj)['states'])) return false;
  }
  return exact(v['other'], ['inbound', 'outbound'], states);
}

/** A loose section (collect) with only its known keys (z.object drops the others), or null when unsure. */
function looseSection(c: SectionCheck, v: unknown): Obj | null {
  if (!isObj(v)) return null;
  for (const x of c.required) if (!fits(x, v[x.name])) return null;
  for (const x of c.optional) if (v[x.name] !== undefined && !fits(x, v[x.name])) return null;
  for (const t of c.texts) {
    const list = v[t];
    if (!Array.isArray(list) || list.length > L.errors || !list.every((e) => typeof e === 'string' && e.length <= L.errorLength)) return null;
  }
  const out: Obj = {};
  for (const name of c.plan.names) out[name] = v[name] ?? 0;
  return out;
}

/**
 * The check of one section of the field table: the section as output (unknown keys of a loose
 * section dropped, later fields an older agent lacks filled in), or null when unsure. It takes a
 * section, not a snapshot, so a nested object made of the same sections reuses it.
 */
export function sectionCheck(p: SectionPlan): (v: unknown) => Obj | null {
  const c = checkOf(p);
  if (c.open) return (v) => (counters(v) ? (v as Obj) : null);
  if (c.strict) return (v) => (strictSection(c, v) ? complete(c, v as Obj) : null);
  return (v) => looseSection(c, v);
}

const NW = NAMESPACE_WIRE_LIMITS;
const RUNTIMES: readonly string[] = CONTAINER_RUNTIMES;
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const nsErrors = (v: unknown): boolean => Array.isArray(v) && v.length <= NAMESPACE_LIMITS.errors && v.every((e) => isText(e, NW.errorLength));
const containerId = (v: unknown): boolean => typeof v === 'string' && CONTAINER_ID_PATTERN.test(v);
/** A name from a file: 1..max characters (zod counts code points: leave longer strings of surrogates to it), no control or formatting marks. */
const containerName = (v: unknown, max: number): boolean => isText(v, max) && v.length >= 1 && NAME_PATTERN.test(v);
/** The optional fields of a container and their checks, in output order. */
const CONTAINER_OPTIONAL: readonly [string, (v: unknown) => boolean][] = [
  ['pod_uid', (v) => isText(v, NW.podUidLength) && POD_UID_PATTERN.test(v)],
  ['pod', (v) => containerName(v, NAMESPACE_LIMITS.podLength)],
  ['namespace', (v) => containerName(v, NAMESPACE_LIMITS.namespaceLength)],
  ['name', (v) => containerName(v, NAMESPACE_LIMITS.nameLength)],
  ['other_ids', (v) => Array.isArray(v) && v.length <= NAMESPACE_LIMITS.otherIds && v.every(containerId)],
];

/** An entry's container with only its known keys, null for null, undefined when unsure. */
function container(v: unknown): Obj | null | undefined {
  if (v === null) return null;
  if (!isObj(v) || typeof v['runtime'] !== 'string' || !RUNTIMES.includes(v['runtime']) || !containerId(v['id'])) return undefined;
  const out: Obj = { runtime: v['runtime'], id: v['id'] };
  for (const [k, ok] of CONTAINER_OPTIONAL) {
    const x = v[k];
    if (x === undefined) continue;
    if (!ok(x)) return undefined;
    out[k] = x;
  }
  return out;
}

const NS_CHECKS = NS_SECTIONS.map((p) => ({ key: p.key!, check: sectionCheck(p) }));

/** One namespace entry with only its known keys, in the schema's key order, or null when unsure. */
function nsEntry(v: unknown): Obj | null {
  if (!isObj(v) || !isInt(v['netns'], 1, MAX) || !isInt(v['pid'], 1, NW.pidMax)) return null;
  const c = container(v['container']);
  if (c === undefined) return null;
  const out: Obj = { netns: v['netns'], pid: v['pid'], container: c };
  for (const s of NS_CHECKS) {
    const x = s.check(v[s.key]);
    if (x === null) return null;
    out[s.key] = x;
  }
  const k = v['collect'];
  if (!isObj(k) || !isCount(k['states_age_ms']) || typeof k['states_unchanged'] !== 'boolean' || !isCount(k['skipped']) || !nsErrors(k['errors'])) return null;
  out['collect'] = { states_age_ms: k['states_age_ms'], states_unchanged: k['states_unchanged'], skipped: k['skipped'], errors: k['errors'] };
  return out;
}

/** A snapshot's namespaces (at most NAMESPACE_WIRE_LIMITS.entries, each netns once), or null when unsure. */
function namespaces(v: unknown): Obj[] | null {
  if (!Array.isArray(v) || v.length > NW.entries) return null;
  const out: Obj[] = [];
  const seen = new Set<unknown>();
  for (const e of v as unknown[]) {
    const x = nsEntry(e);
    if (x === null || seen.has(x['netns'])) return null;
    seen.add(x['netns']);
    out.push(x);
  }
  return out;
}

/** collect.namespaces with only its known keys, or null when unsure. */
function nsCollect(v: unknown): Obj | null {
  if (!isObj(v)) return null;
  const out: Obj = {};
  for (const k of NS_COLLECT_COUNTS) {
    if (!isCount(v[k])) return null;
    out[k] = v[k];
  }
  for (const k of NS_COLLECT_MS) {
    const x = v[k];
    if (typeof x !== 'number' || !(x >= 0 && x <= NS_COLLECT_MS_MAX)) return null;
    out[k] = x;
  }
  if (!nsErrors(v['errors'])) return null;
  out['errors'] = v['errors'];
  return out;
}

/** Every section of the field table but the snapshot's own fields, in table (output) order. */
const SECTIONS = PLAN.sections.filter((p) => p.key !== null).map((p) => ({ key: p.key!, check: sectionCheck(p) }));
const COLLECT = SECTIONS.findIndex((c) => c.key === 'collect');
/** The snapshot's own fields of the table (interval_ms). */
const ROOT = sectionPlan(null).numbers;
/** The checked sections of the snapshot being checked, by SECTIONS index (reused: read at once). */
const PARTS: unknown[] = new Array<unknown>(SECTIONS.length).fill(null);
/** The output snapshot from the input and PARTS, in SNAPSHOT_KEYS order: one compiled object literal (util/compile.ts). */
const output = compile<(v: Obj, parts: readonly unknown[], ns: Obj[] | undefined) => Obj>(
  ['v', 'parts', 'ns'],
  [
    `const o = {${SNAPSHOT_KEYS.filter((k) => k !== 'breakdown' && k !== 'namespaces')
      .map((k) => {
        const i = SECTIONS.findIndex((c) => c.key === k);
        return `${key(k)}: ${i >= 0 ? `parts[${i}]` : `v[${key(k)}]`}`;
      })
      .join(', ')}};`,
    'if (v["breakdown"] !== undefined) o["breakdown"] = v["breakdown"];',
    'if (ns !== undefined) o["namespaces"] = ns;',
    'return o;',
  ],
);

/** The checked snapshot with only its known keys, or null when unsure. */
function snapshot(v: unknown): Snapshot | null {
  if (!isObj(v)) return null;
  const host = v['host'];
  const boot = v['boot'];
  if (typeof host !== 'string' || host.length < 1 || host.length > L.hostLength || !HOST_ID_PATTERN.test(host)) return null;
  if (!isCount(v['ts']) || !isInt(v['seq'], 1, MAX) || typeof boot !== 'string' || !BOOT_ID_PATTERN.test(boot)) return null;
  for (const x of ROOT) if (!fits(x, v[x.name])) return null;
  if (!labels(v['labels'])) return null;
  const b = v['breakdown'];
  if (b !== undefined && !breakdown(b)) return null;
  for (let i = 0; i < SECTIONS.length; i++) {
    const c = SECTIONS[i]!;
    const x = c.check(v[c.key]);
    if (x === null) return null;
    PARTS[i] = x;
  }
  // With --namespaces: collect.namespaces (collect's output is a fresh object) and the entries.
  const kn = (v['collect'] as Obj)['namespaces'];
  if (kn !== undefined) {
    const x = nsCollect(kn);
    if (x === null) return null;
    (PARTS[COLLECT] as Obj)['namespaces'] = x;
  }
  let ns: Obj[] | undefined;
  if (v['namespaces'] !== undefined) {
    const x = namespaces(v['namespaces']);
    if (x === null) return null;
    ns = x;
  }
  // The output in the schema's key order: identity, the table's own fields and sections, the breakdown, the namespaces.
  return output(v, PARTS, ns) as unknown as Snapshot;
}

/** A checked batch message, or null when the value is not certainly a valid batch. */
export function fastBatch(v: unknown): BatchMessage | null {
  if (!isObj(v) || v['type'] !== 'batch' || !isCount(v['id'])) return null;
  const list = v['snapshots'];
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BATCH) return null;
  const snapshots: Snapshot[] = [];
  for (const s of list as unknown[]) {
    const checked = snapshot(s);
    if (checked === null) return null;
    snapshots.push(checked);
  }
  return { type: 'batch', id: v['id'], snapshots };
}
