/**
 * What the engine remembers of each host: recent samples (enough for the longest spike window
 * and for rates), when it last sent data and when it (re)connected, which starts its grace period.
 */
import { PackedSnapshot, decodeBreakdown } from '@tcpfleet/common';
import type { Breakdown, Snapshot } from '@tcpfleet/common';
import { median, valueAt } from './metric.js';
import type { Metric, Sample, SampleKeys } from './metric.js';

/** Samples kept per host at most, whatever the window. */
const MAX_SAMPLES = 20_000;

export class HostSeries {
  readonly host: string;
  labels: Record<string, string>;
  /** Samples in ts order. */
  readonly samples: Sample[] = [];
  /** Collector clock of the last data received. */
  lastRecv: number;
  /** Collector clock of the last (re)connection: first data after a silence, or a new agent boot. */
  connectedAt: number;
  intervalMs: number;
  /** The newest plain snapshot that carried a breakdown, when the newest one was plain. */
  #breakdownFrom: Pick<Snapshot, 'breakdown'> | null = null;
  /** Else the newest bin1 breakdown's bytes ([0, #breakdownLen) of a buffer written over while it fits). */
  #breakdownBytes: Uint8Array | null = null;
  #breakdownLen = 0;

  /**
   * Keeps the breakdown of `s` (the host's newest that carries one) for evidence. A bin1 one is
   * copied as bytes: keeping the snapshot would keep all of it alive until the next one, through
   * the collector's young generation into old space.
   */
  keepBreakdown(s: Snapshot): void {
    const bytes = PackedSnapshot.packed(s)?.breakdown ?? null;
    if (bytes === null) {
      this.#breakdownFrom = s;
      this.#breakdownBytes = null;
      return;
    }
    this.#breakdownFrom = null;
    if (this.#breakdownBytes === null || this.#breakdownBytes.length < bytes.length) this.#breakdownBytes = new Uint8Array(bytes.length + (bytes.length >> 3));
    this.#breakdownBytes.set(bytes);
    this.#breakdownLen = bytes.length;
  }

  /** The host's newest breakdown (built from a bin1 snapshot's bytes only now). */
  get breakdown(): Breakdown | null {
    if (this.#breakdownBytes !== null) return decodeBreakdown(this.#breakdownBytes.subarray(0, this.#breakdownLen));
    return this.#breakdownFrom?.breakdown ?? null;
  }

  /** Samples kept at most, whatever the window. */
  readonly #maxSamples: number;
  /** The last sample dropped, when it held no numbers (isEmptySample): reused by add(). */
  #spare: Sample | null = null;

  constructor(host: string, labels: Record<string, string>, recv: number, intervalMs: number, connectedAt: number, maxSamples = MAX_SAMPLES) {
    this.#maxSamples = maxSamples;
    this.host = host;
    this.labels = labels;
    this.lastRecv = recv;
    this.connectedAt = connectedAt;
    this.intervalMs = intervalMs;
  }

  /**
   * Adds a sample in ts order; returns its index, or -1 when it is already known. With `keys`,
   * the sample keeps only those numbers (what the rules read), not the snapshot's objects: a
   * host keeps up to keepMs of samples, and a whole snapshot is about 10 KB of heap.
   */
  add(s: Snapshot, keepMs: number, keys?: SampleKeys): number {
    let i = this.samples.length;
    while (i > 0 && (this.samples[i - 1]?.ts ?? 0) > s.ts) i--;
    const prev = this.samples[i - 1];
    if (prev !== undefined && prev.ts === s.ts && prev.boot === s.boot) return -1;
    // The boot id as the newest sample holds it when equal: one string a boot kept, not one a snapshot.
    const last = this.samples[this.samples.length - 1];
    const boot = last !== undefined && last.boot === s.boot ? last.boot : s.boot;
    let sample: Sample;
    if (keys === undefined) sample = { ts: s.ts, boot, states: s.states, ipv4: s.ipv4, ipv6: s.ipv6, summary: s.summary, sockstat: s.sockstat, snmp: s.snmp, netstat: s.netstat };
    else if (this.#spare !== null && holdsNothing(keys)) {
      // No rule reads a number: the sample dropped last time is this one (a new object a snapshot otherwise).
      sample = this.#spare;
      this.#spare = null;
      sample.ts = s.ts;
      sample.boot = boot;
    } else sample = projectSample(s, boot, keys);
    if (i === this.samples.length) this.samples.push(sample);
    else this.samples.splice(i, 0, sample);
    const newest = this.samples[this.samples.length - 1]?.ts ?? s.ts;
    let drop = 0;
    while (this.samples.length - drop > 2 && ((this.samples[drop]?.ts ?? newest) < newest - keepMs || this.samples.length - drop > this.#maxSamples)) drop++;
    // shift() for the usual one (splice would return an array of what it removed).
    if (drop === 1) {
      const gone = this.samples.shift()!;
      if (isEmptySample(gone)) this.#spare = gone;
    } else if (drop > 1) this.samples.splice(0, drop);
    return i - drop;
  }

  /** True when a sample of agent boot `boot` is kept. */
  hasBoot(boot: string): boolean {
    for (let i = 0; i < this.samples.length; i++) if (this.samples[i]!.boot === boot) return true;
    return false;
  }

  /** The newest ts seen. */
  get newestTs(): number {
    return this.samples[this.samples.length - 1]?.ts ?? 0;
  }

  /** Median of the metric over samples with ts in [ts - windowMs, ts); undefined under `min` values. */
  baseline(m: Metric, ts: number, windowMs: number, min = 3): number | undefined {
    const vals: number[] = [];
    for (let i = 0; i < this.samples.length; i++) {
      const s = this.samples[i];
      if (s === undefined || s.ts >= ts) break;
      if (s.ts < ts - windowMs) continue;
      const v = valueAt(this.samples, i, m);
      if (v !== undefined) vals.push(v);
    }
    return vals.length >= min ? median(vals) : undefined;
  }
}

const NONE = Object.freeze({}) as Record<string, number>;

/** True when `keys` names no number: a sample keeps only its ts and boot. */
function holdsNothing(keys: SampleKeys): boolean {
  return keys.states.length + keys.ipv4.length + keys.ipv6.length + keys.summary.length + keys.sockstat.length + keys.snmp.length + keys.netstat.length === 0;
}

/** True when every section of `x` is the shared empty object (a sample projected with no keys). */
function isEmptySample(x: Sample): boolean {
  const n = NONE as unknown;
  return x.states === n && x.ipv4 === n && x.ipv6 === n && x.summary === n && x.sockstat === n && x.snmp === n && x.netstat === n;
}

/** The numbers of one section of `s` named in `keys` (a module function: no closure per sample). */
function pick(s: Snapshot, keys: SampleKeys, section: keyof SampleKeys): Record<string, number> {
  const ks = keys[section];
  if (ks.length === 0) return NONE;
  const out: Record<string, number> = {};
  if (section === 'snmp' || section === 'netstat') {
    // The few counters the rules read, without building a bin1 snapshot's ~190-counter objects.
    for (const k of ks) {
      const v = PackedSnapshot.counter(s, section, k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  const src = s[section] as unknown as Record<string, number | undefined>;
  for (const k of ks) {
    const v = src[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A sample holding only the numbers named in `keys`; the other sections are one shared empty object. */
function projectSample(s: Snapshot, boot: string, keys: SampleKeys): Sample {
  return {
    ts: s.ts,
    boot,
    states: pick(s, keys, 'states') as unknown as Sample['states'],
    ipv4: pick(s, keys, 'ipv4') as unknown as Sample['ipv4'],
    ipv6: pick(s, keys, 'ipv6') as unknown as Sample['ipv6'],
    summary: pick(s, keys, 'summary') as unknown as Sample['summary'],
    sockstat: pick(s, keys, 'sockstat') as unknown as Sample['sockstat'],
    snmp: pick(s, keys, 'snmp'),
    netstat: pick(s, keys, 'netstat'),
  };
}
