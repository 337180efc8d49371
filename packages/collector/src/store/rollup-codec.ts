/**
 * The aggregate a rollup row holds, and its compact encoding.
 *
 * Which numbers a rollup keeps is the field table's (model/fields.ts, each section's `rollup`):
 * for the 'aggregate' sections (the twelve states, IPv4 + IPv6, and the five ss summary numbers)
 * min, max, sum (mean = sum / n) and last; for the 'last' sections (the IPv4 states and sockstat)
 * the last value only (IPv6 last = states last - IPv4 last). Stored as zig-zag varints: n,
 * interval_ms, then per aggregated metric min, max - min, sum - min * n, last - min (all small
 * and non-negative), then the last-only values: about 100 bytes per row. Fields added to the
 * table later follow, in the same pattern; a row written before them reads them as 0.
 */
import { PLAN, VarintReader, VarintWriter } from '@tcpfleet/common';
import type { FieldPlan, Slot, SsSummary, Sockstat, StateCounts } from '@tcpfleet/common';

/** Aggregated metrics: 12 states then 5 summary numbers. */
export const AGG_METRICS = PLAN.aggregate.length;

/** The numbers of one sample a rollup needs. */
export interface RollupSample {
  ts: number;
  interval_ms: number;
  states: StateCounts;
  ipv4: StateCounts;
  summary: SsSummary;
  sockstat: Sockstat;
}

/** An aggregate over one bucket of one host. */
export interface Agg {
  n: number;
  lastTs: number;
  interval_ms: number;
  min: number[];
  max: number[];
  sum: number[];
  last: number[];
  /** IPv4 states then sockstat, last values. */
  lastOnly: number[];
}

type Sections = Record<string, Record<string, number>>;

const valuesOf = (s: RollupSample, slots: readonly Slot[]): number[] => slots.map((x) => (s as unknown as Sections)[x.section!]![x.name] ?? 0);

/** A new aggregate holding one sample. */
export function aggOf(s: RollupSample, plan: FieldPlan = PLAN): Agg {
  const m = valuesOf(s, plan.aggregate);
  return { n: 1, lastTs: s.ts, interval_ms: s.interval_ms, min: [...m], max: [...m], sum: [...m], last: m, lastOnly: valuesOf(s, plan.last) };
}

/** Adds one sample to an aggregate. */
export function addSample(a: Agg, s: RollupSample): void {
  addAgg(a, aggOf(s));
}

/** Merges aggregate b into a (both of the same host; last follows the newer lastTs). */
export function addAgg(a: Agg, b: Agg): void {
  for (let i = 0; i < AGG_METRICS; i++) {
    a.min[i] = Math.min(a.min[i] ?? 0, b.min[i] ?? 0);
    a.max[i] = Math.max(a.max[i] ?? 0, b.max[i] ?? 0);
    a.sum[i] = (a.sum[i] ?? 0) + (b.sum[i] ?? 0);
  }
  if (b.lastTs >= a.lastTs) {
    a.last = [...b.last];
    a.lastOnly = [...b.lastOnly];
    a.lastTs = b.lastTs;
    a.interval_ms = b.interval_ms;
  }
  a.n += b.n;
}

/** Encodes a list of integers as zig-zag varints. */
export function encodeInts(values: readonly number[]): Buffer {
  const w = new VarintWriter();
  for (const v of values) w.put(v);
  return w.bytes();
}

/** Decodes zig-zag varints written by encodeInts. */
export function decodeInts(blob: Uint8Array): number[] {
  const r = new VarintReader(blob, 'rollup');
  const out: number[] = [];
  while (!r.done) out.push(r.get());
  return out;
}

/** Encodes an aggregate (lastTs is a column of its own). */
export function encodeAgg(a: Agg, plan: FieldPlan = PLAN): Buffer {
  const v: number[] = [a.n, a.interval_ms];
  for (const step of plan.rollup[plan.version - 1]!) {
    const i = step.index;
    if (step.group === 'last') v.push(a.lastOnly[i] ?? 0);
    else {
      const min = a.min[i] ?? 0;
      v.push(min, (a.max[i] ?? 0) - min, (a.sum[i] ?? 0) - min * a.n, (a.last[i] ?? 0) - min);
    }
  }
  return encodeInts(v);
}

/** Decodes an aggregate written by encodeAgg (of this table version or an older one: the numbers it lacks are 0). */
export function decodeAgg(blob: Uint8Array, lastTs: number, plan: FieldPlan = PLAN): Agg {
  const v = decodeInts(blob);
  let p = 0;
  const next = (): number => v[p++] ?? 0;
  const n = next();
  const interval_ms = next();
  const a: Agg = { n, lastTs, interval_ms, min: [], max: [], sum: [], last: [], lastOnly: [] };
  for (const step of plan.rollup[plan.version - 1]!) {
    const i = step.index;
    if (step.group === 'last') a.lastOnly[i] = next();
    else {
      const min = next();
      a.min[i] = min;
      a.max[i] = min + next();
      a.sum[i] = next() + min * n;
      a.last[i] = min + next();
    }
  }
  return a;
}

/** The sections of `slots` as objects, values from `m` (rounded to 1/1000 when asked). */
function sectionsOf(slots: readonly Slot[], m: readonly number[], round = false): Sections {
  const out: Sections = {};
  slots.forEach((x, i) => {
    const v = m[i] ?? 0;
    (out[x.section!] ??= {})[x.name] = round ? Math.round(v * 1000) / 1000 : v;
  });
  return out;
}

/** Splits a metric vector into states and summary objects. */
export function statesAndSummary(m: readonly number[], round = false, plan: FieldPlan = PLAN): { states: StateCounts; summary: SsSummary } {
  return sectionsOf(plan.aggregate, m, round) as unknown as { states: StateCounts; summary: SsSummary };
}

/** The last IPv4 states and sockstat of an aggregate, and the IPv6 states (states - IPv4). */
export function lastOnlyParts(a: Agg, plan: FieldPlan = PLAN): { ipv4: StateCounts; ipv6: StateCounts; sockstat: Sockstat } {
  const out = sectionsOf(plan.last, a.lastOnly);
  const last = sectionsOf(plan.aggregate, a.last);
  // A sum section (states = ipv4 + ipv6) whose first part is kept: the second is the difference.
  for (const p of plan.sections) {
    const sum = p.def.sumOf;
    if (sum === undefined || p.key === null || out[sum[0]] === undefined || out[sum[1]] !== undefined) continue;
    const whole = last[p.key] ?? {};
    const part = out[sum[0]]!;
    const rest: Record<string, number> = {};
    for (const name of p.names) rest[name] = (whole[name] ?? 0) - (part[name] ?? 0);
    out[sum[1]] = rest;
  }
  return out as unknown as { ipv4: StateCounts; ipv6: StateCounts; sockstat: Sockstat };
}
