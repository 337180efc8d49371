/**
 * Metric paths of alert rules: where a number comes from in a snapshot. The sections and their
 * fields are the field table's (model/fields.ts, sections with `alert`; docs/fields.md):
 *
 *   states.X, ipv4.X, ipv6.X   a TCP state count (X one of the twelve state names)
 *   summary.X                  a number of the ss -s TCP line (total, estab, ...)
 *   sockstat.X                 a figure of /proc/net/sockstat (docs/fields.md lists them)
 *   snmp.X, netstat.X          a Tcp: / TcpExt: counter by its kernel name
 *   rate(snmp.X), rate(netstat.X)   a counter's per-second rate between consecutive samples
 */
import { PLAN } from '@tcpfleet/common';
import type { Snapshot, SECTIONS } from '@tcpfleet/common';

/** A section alert rules may read. */
type AlertSection = NonNullable<Extract<(typeof SECTIONS)[number], { alert: true }>['key']>;

/** A parsed metric path. */
export interface Metric {
  /** The path as written in the rules file. */
  text: string;
  section: AlertSection;
  key: string;
  rate: boolean;
}

/** The sections rules may read, in table order, with their field names (empty: any kernel counter name). */
const ALERT = PLAN.sections.filter((p) => p.def.alert && p.key !== null).map((p) => ({ key: p.key as AlertSection, open: p.def.open !== undefined, states: p.def.states === true, names: p.names }));
const OPEN = ALERT.filter((a) => a.open).map((a) => `${a.key}.X`);
const ANY = `${ALERT.map((a) => `${a.key}.X`).join(', ')} or rate(${OPEN[0] ?? ''})`;
const RATE_OF = `(${OPEN.join(' or ')})`;

/** Parses a metric path; returns a reason string when it is not one. */
export function parseMetric(text: string): Metric | string {
  const t = text.trim();
  const rm = /^rate\(\s*([^()]*?)\s*\)$/.exec(t);
  const path = rm !== null ? (rm[1] ?? '') : t;
  const rate = rm !== null;
  const dot = path.indexOf('.');
  const name = dot < 0 ? path : path.slice(0, dot);
  const key = dot < 0 ? '' : path.slice(dot + 1);
  const section = ALERT.find((a) => a.key === name);
  if (section === undefined) return `unknown metric ${JSON.stringify(text)}: use ${ANY}`;
  if (section.open) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key)) return `bad counter name ${JSON.stringify(key)} in ${JSON.stringify(text)}: a kernel name such as RetransSegs or ListenOverflows`;
    return { text: t, section: section.key, key, rate };
  }
  if (rate) return `rate() takes a counter ${RATE_OF}, not ${JSON.stringify(path)}`;
  if (!section.names.includes(key)) {
    return section.states
      ? `unknown state ${JSON.stringify(key)} in ${JSON.stringify(text)}: use one of ${section.names.join(', ')}`
      : `unknown ${section.key} field ${JSON.stringify(key)}: use one of ${section.names.join(', ')}`;
  }
  return { text: t, section: section.key, key, rate };
}

/** The sections of a snapshot a metric can read: what the engine keeps per sample. */
export type Sample = Pick<Snapshot, 'ts' | 'boot' | 'states' | 'ipv4' | 'ipv6' | 'summary' | 'sockstat' | 'snmp' | 'netstat'>;

/** The keys of each section that the rules read: all a sample needs to keep. */
export type SampleKeys = Readonly<Record<Metric['section'], readonly string[]>>;

/** The keys the given metrics read, by section. */
export function sampleKeys(metrics: Iterable<Metric>): SampleKeys {
  const out = Object.fromEntries(ALERT.map((a) => [a.key, [] as string[]])) as Record<Metric['section'], string[]>;
  for (const m of metrics) if (!out[m.section].includes(m.key)) out[m.section].push(m.key);
  return out;
}

/** The raw (not rate) value of a metric in one sample; undefined when the sample lacks it. */
export function rawValue(s: Sample, m: Metric): number | undefined {
  const sec = s[m.section] as unknown as Record<string, number | undefined>;
  const v = sec[m.key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The value of a metric at `samples[i]`: the raw value, or for rate() the per-second increase
 * since the previous sample of the same agent boot. A counter that went down (reset) or a first
 * sample has no rate.
 */
export function valueAt(samples: readonly Sample[], i: number, m: Metric): number | undefined {
  const cur = samples[i];
  if (cur === undefined) return undefined;
  const v = rawValue(cur, m);
  if (!m.rate || v === undefined) return v;
  const prev = samples[i - 1];
  if (prev === undefined || prev.boot !== cur.boot || cur.ts <= prev.ts) return undefined;
  const p = rawValue(prev, m);
  if (p === undefined || v < p) return undefined;
  return ((v - p) * 1000) / (cur.ts - prev.ts);
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
