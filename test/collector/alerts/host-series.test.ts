/**
 * HostSeries keeps, per sample, only the numbers the rules read (sampleKeys), and those give the
 * same values and rates as the whole snapshot would.
 */
import { describe, expect, it } from 'vitest';
import { emptyStates } from '@tcpfleet/common';
import type { Snapshot } from '@tcpfleet/common';
import { HostSeries } from '../../../packages/collector/src/alerts/host-series.js';
import { parseMetric, sampleKeys, valueAt } from '../../../packages/collector/src/alerts/metric.js';
import type { Metric } from '../../../packages/collector/src/alerts/metric.js';

function snap(ts: number, established: number, retrans: number): Snapshot {
  const states = { ...emptyStates(), established, listen: 1 };
  return {
    host: 'h1',
    ts,
    seq: ts / 1000,
    boot: 'boot-1',
    interval_ms: 1000,
    labels: {},
    states,
    ipv4: states,
    ipv6: emptyStates(),
    summary: { total: 5, estab: established, closed: 0, orphaned: 0, timewait: 0 },
    sockstat: { sockets_used: 0, tcp_inuse: 0, tcp_orphan: 0, tcp_tw: 0, tcp_alloc: 0, tcp_mem: 0, tcp6_inuse: 0 },
    snmp: { RetransSegs: retrans, InSegs: 99, OutSegs: 98 },
    netstat: { ListenOverflows: 1, TCPTimeouts: 2 },
    collect: { ms: 0, bytes: 0, skipped: 0, errors: [], states_age_ms: 0 },
  };
}

const metric = (text: string): Metric => {
  const m = parseMetric(text);
  if (m === null || typeof m === 'string' || !('section' in m)) throw new Error(`bad metric ${text}`);
  return m;
};

describe('HostSeries with sample keys', () => {
  it('keeps only the keys the rules read, with the same values and rates as whole snapshots', () => {
    const metrics = [metric('states.established'), metric('rate(snmp.RetransSegs)')];
    const keys = sampleKeys(metrics);
    expect(keys.states).toEqual(['established']);
    expect(keys.snmp).toEqual(['RetransSegs']);
    expect(keys.netstat).toEqual([]);
    const lean = new HostSeries('h1', {}, 0, 1000, 0);
    const full = new HostSeries('h1', {}, 0, 1000, 0);
    for (let i = 0; i < 5; i++) {
      lean.add(snap(1000 * (i + 1), 10 + i, 100 * i), 60_000, keys);
      full.add(snap(1000 * (i + 1), 10 + i, 100 * i), 60_000);
    }
    const last = lean.samples.at(-1)!;
    expect(Object.keys(last.snmp)).toEqual(['RetransSegs']);
    expect(Object.keys(last.states)).toEqual(['established']);
    expect(Object.keys(last.netstat)).toEqual([]);
    expect(Object.keys(last.ipv4)).toEqual([]);
    for (const m of metrics) {
      for (let i = 0; i < 5; i++) expect(valueAt(lean.samples, i, m)).toBe(valueAt(full.samples, i, m));
    }
    expect(valueAt(lean.samples, 4, metrics[1]!)).toBe(100);
    // A metric no rule reads is simply absent from the lean samples.
    expect(valueAt(lean.samples, 4, metric('netstat.TCPTimeouts'))).toBeUndefined();
    expect(valueAt(full.samples, 4, metric('netstat.TCPTimeouts'))).toBe(2);
  });
});

describe('HostSeries without rules', () => {
  it('keeps only its last two samples when nothing needs history (keepMs 0: the engine with no rules)', async () => {
    const { engineOnFile } = await import('../../helpers/alert-engine.js');
    const cleanups: (() => void)[] = [];
    let keep = -1;
    try {
      // No rules file: the engine keeps no history; with a rule, a minute (plus any spike window).
      const none = engineOnFile('rules: []\n', cleanups, 0).engine;
      keep = none.keepMs;
      expect(keep).toBe(0);
      const one = engineOnFile('rules:\n  - { name: a, kind: threshold, metric: states.established, op: ">", value: 5, for: 0s }\n', cleanups, 0).engine;
      expect(one.keepMs).toBe(60_000);
    } finally {
      for (const c of cleanups.reverse()) c();
    }
    const keys = sampleKeys([]);
    const h = new HostSeries('h1', {}, 0, 1000, 0);
    for (let i = 1; i <= 100; i++) h.add(snap(1000 * i, i, i), keep, keys);
    expect(h.samples.map((s) => s.ts)).toEqual([99_000, 100_000]);
    expect(h.newestTs).toBe(100_000);
  });
  it('with no rule reading a number, the last two samples are kept (ts and boot) however many come; a rule loaded later reads its numbers from the next sample on', () => {
    const h = new HostSeries('h1', {}, 0, 1000, 0);
    const none = sampleKeys([]);
    for (let k = 1; k <= 50; k++) {
      const s = { ...snap(k * 1000, k, k * 10), boot: k <= 30 ? 'boot-1' : 'boot-2' };
      expect(h.add(s, 0, none)).toBe(k === 1 ? 0 : 1);
      expect(h.samples.map((x) => [x.ts, x.boot])).toEqual(k === 1 ? [[1000, 'boot-1']] : [(k - 1) * 1000, k * 1000].map((ts) => [ts, ts <= 30_000 ? 'boot-1' : 'boot-2']));
      expect(h.add(s, 0, none)).toBe(-1);
    }
    expect(h.hasBoot('boot-2')).toBe(true);
    expect(h.hasBoot('boot-1')).toBe(false);
    // A rule now reads established: the next samples hold it, the older ones held nothing.
    const est = metric('states.established');
    const keys = sampleKeys([est]);
    h.add(snap(51_000, 51, 0), 0, keys);
    h.add(snap(52_000, 52, 0), 0, keys);
    expect(h.samples.map((x) => valueAt(h.samples, h.samples.indexOf(x), est))).toEqual([51, 52]);
    // Back to no rule: a sample that held a number is not reused as an empty one.
    h.add(snap(53_000, 53, 0), 0, none);
    h.add(snap(54_000, 54, 0), 0, none);
    expect(h.samples.map((x) => [x.ts, x.states.established])).toEqual([
      [53_000, undefined],
      [54_000, undefined],
    ]);
  });
});
