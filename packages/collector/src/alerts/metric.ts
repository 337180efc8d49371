/**
 * Metric paths of alert rules: where a number comes from in a snapshot.
 *
 *   states.X, ipv4.X, ipv6.X   a TCP state count (X one of the twelve state names)
 *   summary.X                  total, estab, closed, orphaned, timewait (the ss -s TCP line)
 *   sockstat.X                 sockets_used, tcp_inuse, tcp_orphan, tcp_tw, tcp_alloc, tcp_mem, tcp6_inuse
 *   snmp.X, netstat.X          a Tcp: / TcpExt: counter by its kernel name
 *   rate(snmp.X), rate(netstat.X)   a counter's per-second rate between consecutive samples
 */
import { TCP_STATES, isStateName } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';

/** A parsed metric path. */
export interface Metric {
  /** The path as written in the rules file. */
  text: string;
  section: 'states' | 'ipv4' | 'ipv6' | 'summary' | 'sockstat' | 'snmp' | 'netstat';
  key: string;
  rate: boolean;
}

const SUMMARY = ['total', 'estab', 'closed', 'orphaned', 'timewait'];
const SOCKSTAT = ['sockets_used', 'tcp_inuse', 'tcp_orphan', 'tcp_tw', 'tcp_alloc', 'tcp_mem', 'tcp6_inuse'];

/** Parses a metric path; returns a reason string when it is not one. */
export function parseMetric(text: string): Metric | string {
  const t = text.trim();
  const rm = /^rate\(\s*([^()]*?)\s*\)$/.exec(t);
  const path = rm !== null ? (rm[1] ?? '') : t;
  const rate = rm !== null;
  const dot = path.indexOf('.');
  const section = dot < 0 ? path : path.slice(0, dot);
  const key = dot < 0 ? '' : path.slice(dot + 1);
  const bad = `unknown metric ${JSON.stringify(text)}: use states.X, ipv4.X, ipv6.X, summary.X, sockstat.X, snmp.X, netstat.X or rate(snmp.X)`;
  switch (section) {
    case 'states':
    case 'ipv4':
    case 'ipv6':
      if (rate) return `rate() takes a counter (snmp.X or netstat.X), not ${JSON.stringify(path)}`;
      if (!isStateName(key)) return `unknown state ${JSON.stringify(key)} in ${JSON.stringify(text)}: use one of ${TCP_STATES.join(', ')}`;
      return { text: t, section, key, rate };
    case 'summary':
      if (rate) return `rate() takes a counter (snmp.X or netstat.X), not ${JSON.stringify(path)}`;
      if (!SUMMARY.includes(key)) return `unknown summary field ${JSON.stringify(key)}: use one of ${SUMMARY.join(', ')}`;
      return { text: t, section, key, rate };
    case 'sockstat':
      if (rate) return `rate() takes a counter (snmp.X or netstat.X), not ${JSON.stringify(path)}`;
      if (!SOCKSTAT.includes(key)) return `unknown sockstat field ${JSON.stringify(key)}: use one of ${SOCKSTAT.join(', ')}`;
      return { text: t, section, key, rate };
    case 'snmp':
    case 'netstat':
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key)) return `bad counter name ${JSON.stringify(key)} in ${JSON.stringify(text)}: a kernel name such as RetransSegs or ListenOverflows`;
      return { text: t, section, key, rate };
    default:
      return bad;
  }
}

/** The sections of a snapshot a metric can read: what the engine keeps per sample. */
export type Sample = Pick<Snapshot, 'ts' | 'boot' | 'states' | 'ipv4' | 'ipv6' | 'summary' | 'sockstat' | 'snmp' | 'netstat'>;

/** The keys of each section that the rules read: all a sample needs to keep. */
export type SampleKeys = Readonly<Record<Metric['section'], readonly string[]>>;

/** The keys the given metrics read, by section. */
export function sampleKeys(metrics: Iterable<Metric>): SampleKeys {
  const out: Record<Metric['section'], string[]> = { states: [], ipv4: [], ipv6: [], summary: [], sockstat: [], snmp: [], netstat: [] };
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
