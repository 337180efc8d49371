/**
 * The aggregate a rollup row holds, and its compact encoding.
 *
 * For each of the twelve states (IPv4 + IPv6) and the five ss summary numbers a rollup keeps
 * min, max, sum (mean = sum / n) and last; for the IPv4 states and the sockstat numbers it keeps
 * the last value only (IPv6 last = states last - IPv4 last). Stored as zig-zag varints:
 * n, interval_ms, then per aggregated metric min, max - min, sum - min * n, last - min (all small
 * and non-negative), then the last-only values: about 100 bytes per row.
 */
import { SOCKSTAT_KEYS, SUMMARY_KEYS, TCP_STATES, emptyStates } from '@tcpfleet/common';
import type { SsSummary, Sockstat, StateCounts } from '@tcpfleet/common';

import { VarintReader, VarintWriter } from '@tcpfleet/common';

/** Aggregated metrics: 12 states then 5 summary numbers. */
export const AGG_METRICS = TCP_STATES.length + SUMMARY_KEYS.length;
const LAST_ONLY = TCP_STATES.length + SOCKSTAT_KEYS.length;

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

function metricsOf(s: RollupSample): number[] {
  const out: number[] = [];
  for (const st of TCP_STATES) out.push(s.states[st]);
  for (const k of SUMMARY_KEYS) out.push(s.summary[k]);
  return out;
}

function lastOnlyOf(s: RollupSample): number[] {
  const out: number[] = [];
  for (const st of TCP_STATES) out.push(s.ipv4[st]);
  for (const k of SOCKSTAT_KEYS) out.push(s.sockstat[k]);
  return out;
}

/** A new aggregate holding one sample. */
export function aggOf(s: RollupSample): Agg {
  const m = metricsOf(s);
  return { n: 1, lastTs: s.ts, interval_ms: s.interval_ms, min: [...m], max: [...m], sum: [...m], last: m, lastOnly: lastOnlyOf(s) };
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
export function encodeAgg(a: Agg): Buffer {
  const v: number[] = [a.n, a.interval_ms];
  for (let i = 0; i < AGG_METRICS; i++) {
    const min = a.min[i] ?? 0;
    v.push(min, (a.max[i] ?? 0) - min, (a.sum[i] ?? 0) - min * a.n, (a.last[i] ?? 0) - min);
  }
  v.push(...a.lastOnly);
  return encodeInts(v);
}

/** Decodes an aggregate written by encodeAgg. */
export function decodeAgg(blob: Uint8Array, lastTs: number): Agg {
  const v = decodeInts(blob);
  let p = 0;
  const next = (): number => v[p++] ?? 0;
  const n = next();
  const interval_ms = next();
  const a: Agg = { n, lastTs, interval_ms, min: [], max: [], sum: [], last: [], lastOnly: [] };
  for (let i = 0; i < AGG_METRICS; i++) {
    const min = next();
    a.min.push(min);
    a.max.push(min + next());
    a.sum.push(next() + min * n);
    a.last.push(min + next());
  }
  for (let i = 0; i < LAST_ONLY; i++) a.lastOnly.push(next());
  return a;
}

/** Splits a metric vector into states and summary objects. */
export function statesAndSummary(m: readonly number[], round = false): { states: StateCounts; summary: SsSummary } {
  const r = (x: number | undefined): number => (round ? Math.round((x ?? 0) * 1000) / 1000 : (x ?? 0));
  const states = emptyStates();
  TCP_STATES.forEach((st, i) => (states[st] = r(m[i])));
  const summary = {} as SsSummary;
  SUMMARY_KEYS.forEach((k, i) => (summary[k] = r(m[TCP_STATES.length + i])));
  return { states, summary };
}

/** The last IPv4 states and sockstat of an aggregate. */
export function lastOnlyParts(a: Agg): { ipv4: StateCounts; ipv6: StateCounts; sockstat: Sockstat } {
  const ipv4 = emptyStates();
  const ipv6 = emptyStates();
  TCP_STATES.forEach((st, i) => {
    ipv4[st] = a.lastOnly[i] ?? 0;
    ipv6[st] = (a.last[i] ?? 0) - ipv4[st];
  });
  const sockstat = {} as Sockstat;
  SOCKSTAT_KEYS.forEach((k, i) => (sockstat[k] = a.lastOnly[TCP_STATES.length + i] ?? 0));
  return { ipv4, ipv6, sockstat };
}
