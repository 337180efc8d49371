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

/** Every section of the field table but the snapshot's own fields, in table (output) order. */
const SECTIONS = PLAN.sections.filter((p) => p.key !== null).map((p) => ({ key: p.key!, check: sectionCheck(p) }));
/** The snapshot's own fields of the table (interval_ms). */
const ROOT = sectionPlan(null).numbers;
/** The checked sections of the snapshot being checked, by SECTIONS index (reused: read at once). */
const PARTS: unknown[] = new Array<unknown>(SECTIONS.length).fill(null);
/** The output snapshot from the input and PARTS, in SNAPSHOT_KEYS order: one compiled object literal (util/compile.ts). */
const output = compile<(v: Obj, parts: readonly unknown[]) => Obj>(
  ['v', 'parts'],
  [
    `const o = {${SNAPSHOT_KEYS.filter((k) => k !== 'breakdown')
      .map((k) => {
        const i = SECTIONS.findIndex((c) => c.key === k);
        return `${key(k)}: ${i >= 0 ? `parts[${i}]` : `v[${key(k)}]`}`;
      })
      .join(', ')}};`,
    'if (v["breakdown"] !== undefined) o["breakdown"] = v["breakdown"];',
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
  // The output in the schema's key order: identity, the table's own fields and sections, the breakdown.
  return output(v, PARTS) as unknown as Snapshot;
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
