/**
 * The field table (model/fields.ts) turned into the lookup arrays the codecs and checks walk:
 * built once at load (PLAN), so no hot path looks anything up by name or builds a list per
 * snapshot. planOf() takes any table, so a test can show what a table with one more field
 * does to old data.
 *
 * Versions: a field's `since` is the table version that added it. A stored blob of version v
 * holds the numbers of every field with since <= v, ordered by since, then by table order; a
 * reader tells v from how many numbers the blob holds (storedVersion), and reads the fields a
 * blob lacks as 0.
 */
import { SECTIONS } from './fields.js';
import type { FieldDef, FieldKind, SectionDef } from './fields.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** One number of a snapshot: where it lives, how it is checked and stored. */
export interface Slot {
  /** JSON key of its section; null: a key of the snapshot itself. */
  readonly section: string | null;
  readonly name: string;
  /** "summary.total", "interval_ms". */
  readonly path: string;
  /** What an error message names: the section for a state section ("ipv4"), else the path. */
  readonly what: string;
  readonly kind: Exclude<FieldKind, 'texts'>;
  readonly min: number;
  readonly max: number;
  /** Stored value = JSON value x scale (1000 for ms: whole microseconds). */
  readonly scale: number;
  readonly since: number;
  /** Position among the latest version's stored numbers (-1: not stored). */
  readonly index: number;
}

/** One section, ready for the checks and decoders. */
export interface SectionPlan {
  readonly def: SectionDef;
  readonly key: string | null;
  /** Every field name, texts included, in table order: the JSON key order. */
  readonly names: readonly string[];
  /** The numeric fields in table order. */
  readonly numbers: readonly Slot[];
  /** For each of `names`: its position among the latest stored numbers, or -1 (a texts field, or a section not stored). */
  readonly indexes: readonly number[];
  /** The texts fields (collect.errors). */
  readonly texts: readonly string[];
  /** Names a JSON snapshot must carry (since 1), and those it may lack (later fields: then 0). */
  readonly required: readonly string[];
  readonly optional: readonly string[];
}

/** Where one stored rollup number goes: aggregate metric i (4 numbers) or last-only value i. */
export interface RollupStep {
  readonly group: 'aggregate' | 'last';
  readonly index: number;
}

export interface FieldPlan {
  readonly sections: readonly SectionPlan[];
  /** Sections by JSON key (null: the snapshot's own fields). */
  readonly byKey: ReadonlyMap<string | null, SectionPlan>;
  /** The highest `since` in the table. */
  readonly version: number;
  /** stored[v - 1]: the numbers a blob of version v holds, in order. */
  readonly stored: readonly (readonly Slot[])[];
  /** The latest version's stored numbers (what encoders write). */
  readonly latest: readonly Slot[];
  /** Numbers a rollup aggregates (min, max, sum, last) and keeps last only, each in version then table order. */
  readonly aggregate: readonly Slot[];
  readonly last: readonly Slot[];
  /** rollup[v - 1]: the order a version-v rollup blob holds its numbers in. */
  readonly rollup: readonly (readonly RollupStep[])[];
  /** The open sections (snmp, netstat): every counter by its kernel name, stored after the fixed numbers. */
  readonly open: readonly SectionPlan[];
}

const sinceOf = (f: FieldDef): number => f.since ?? 1;

function slotOf(section: SectionDef, f: FieldDef & { readonly kind: Exclude<FieldKind, 'texts'> }, index: number): Slot {
  const path = section.key === null ? f.name : `${section.key}.${f.name}`;
  const lo = f.kind === 'signed' ? -MAX : 0;
  return {
    section: section.key,
    name: f.name,
    path,
    what: section.states === true && section.key !== null ? section.key : path,
    kind: f.kind,
    min: f.min ?? lo,
    max: f.max ?? MAX,
    scale: f.kind === 'ms' ? 1000 : 1,
    since: sinceOf(f),
    index,
  };
}

type NumericField = FieldDef & { kind: Exclude<FieldKind, 'texts'> };
const isNumeric = (f: FieldDef): f is NumericField => f.kind !== 'texts';

/** Builds the plan of a field table; throws on a table that breaks its own rules (a programming error). */
export function planOf(sections: readonly SectionDef[]): FieldPlan {
  const version = Math.max(1, ...sections.flatMap((s) => s.fields.map(sinceOf)));
  for (let v = 1; v <= version; v++) if (!sections.some((s) => s.fields.some((f) => sinceOf(f) === v))) throw new Error(`field table: no field has since ${v} (versions must follow one another)`);
  // Stored order: by version, then table order.
  const storedFields: NumericField[] = [];
  for (let v = 1; v <= version; v++) for (const s of sections) if (s.stored) for (const f of s.fields) if (isNumeric(f) && sinceOf(f) === v) storedFields.push(f);
  const indexOf = new Map<FieldDef, number>(storedFields.map((f, i) => [f, i]));
  const slotOfField = new Map<FieldDef, Slot>();
  const plans: SectionPlan[] = sections.map((s) => {
    const numbers = s.fields.filter(isNumeric).map((f) => {
      const x = slotOf(s, f, indexOf.get(f) ?? -1);
      slotOfField.set(f, x);
      return x;
    });
    return {
      def: s,
      key: s.key,
      names: s.fields.map((f) => f.name),
      numbers,
      indexes: s.fields.map((f) => indexOf.get(f) ?? -1),
      texts: s.fields.filter((f) => f.kind === 'texts').map((f) => f.name),
      required: s.fields.filter((f) => sinceOf(f) === 1).map((f) => f.name),
      optional: s.fields.filter((f) => sinceOf(f) > 1).map((f) => f.name),
    };
  });
  const latest = storedFields.map((f) => slotOfField.get(f)!);
  const stored = Array.from({ length: version }, (_, v) => latest.filter((x) => x.since <= v + 1));
  const inVersionOrder = (group: 'aggregate' | 'last'): Slot[] => {
    const out: Slot[] = [];
    for (let v = 1; v <= version; v++) for (const p of plans) if (p.def.rollup === group) for (const x of p.numbers) if (x.since === v) out.push(x);
    return out;
  };
  const aggregate = inVersionOrder('aggregate');
  const last = inVersionOrder('last');
  const rollup = Array.from({ length: version }, (_, v) => {
    const steps: RollupStep[] = [];
    for (let u = 1; u <= v + 1; u++) {
      aggregate.forEach((x, i) => x.since === u && steps.push({ group: 'aggregate', index: i }));
      last.forEach((x, i) => x.since === u && steps.push({ group: 'last', index: i }));
    }
    return steps;
  });
  return {
    sections: plans,
    byKey: new Map(plans.map((p) => [p.key, p])),
    version,
    stored,
    latest,
    aggregate,
    last,
    rollup,
    open: plans.filter((p) => p.def.open !== undefined),
  };
}

/** The plan of the field table. */
export const PLAN: FieldPlan = planOf(SECTIONS);

/** The keys of a snapshot in JSON order: identity, the table's own fields, labels, the table's sections, the breakdown, the namespaces (model/namespace-entry.ts). */
export const SNAPSHOT_KEYS: readonly string[] = [
  'host',
  'ts',
  'seq',
  'boot',
  ...(PLAN.byKey.get(null)?.names ?? []),
  'labels',
  ...PLAN.sections.flatMap((p) => (p.key === null ? [] : [p.key])),
  'breakdown',
  'namespaces',
];

/** A section's plan by JSON key; throws on a key the table does not have (a programming error). */
export function sectionPlan(key: string | null, plan: FieldPlan = PLAN): SectionPlan {
  const p = plan.byKey.get(key);
  if (p === undefined) throw new Error(`the field table has no section ${String(key)}`);
  return p;
}

/**
 * The version of a stored values blob holding `numbers` numbers of which `counters` are open
 * counters (snmp, netstat), or undefined when no version holds that many.
 */
export function storedVersion(numbers: number, counters: number, plan: FieldPlan = PLAN): number | undefined {
  const fixed = numbers - counters;
  for (let v = plan.version; v >= 1; v--) if (plan.stored[v - 1]!.length === fixed) return v;
  return undefined;
}

/** How many varints a blob holds (bytes that end a number); the blob is not otherwise checked. */
export function countNumbers(blob: Uint8Array, start = 0, end = blob.length): number {
  let n = 0;
  for (let i = start; i < end; i++) if (blob[i]! < 128) n++;
  return n;
}
