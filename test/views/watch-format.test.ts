/** The sparkline and frame layout of `tcpfleet watch` (pure functions). */
import { describe, expect, it } from 'vitest';
import { formatWatchFrame, sparkline } from '../../packages/collector/src/cli/watch-format.js';
import type { OverviewDoc } from '../../packages/collector/src/cli/watch-format.js';

const zero = { established: 0, syn_sent: 0, syn_recv: 0, fin_wait1: 0, fin_wait2: 0, time_wait: 0, close: 0, close_wait: 0, last_ack: 0, listen: 0, closing: 0, new_syn_recv: 0 };

describe('sparkline', () => {
  it.each([
    [[0, 1, 2, 3, 4, 5, 6, 7], 8, '▁▂▃▄▅▆▇█'],
    [[5, 5, 5], 3, '▁▁▁'],
    [[null, null, 3, null], 4, '  ▁ '],
    [[null, null], 4, '    '],
    [[1, 9, 2, 2], 2, '█▁'],
    [[0, 10], 0, ''],
  ] as const)('%j in %i columns', (points, width, want) => {
    expect(sparkline(points, width)).toBe(want);
  });
});

describe('formatWatchFrame', () => {
  const doc: OverviewDoc = {
    now: Date.UTC(2026, 10, 25, 12, 0, 0),
    state: 'time_wait',
    window_ms: 3_600_000,
    total: { hosts: 1, stale: 1, states: { ...zero, established: 7, time_wait: 40 }, summary: { total: 50, estab: 7, closed: 40, orphaned: 0, timewait: 40 } },
    hosts: [
      {
        host: 'web-1',
        labels: {},
        states: { ...zero, established: 7, time_wait: 40 },
        summary: { total: 50, estab: 7, closed: 40, orphaned: 0, timewait: 40 },
        recv_ts: Date.UTC(2026, 10, 25, 12, 0, 0),
        stale: false,
        value: 40,
        spark: [1, 2, 3],
      },
      {
        host: 'evil\x1b[2J',
        labels: {},
        states: zero,
        summary: { total: 0, estab: 0, closed: 0, orphaned: 0, timewait: 0 },
        recv_ts: Date.UTC(2026, 10, 25, 11, 59, 0),
        stale: true,
        value: 0,
        spark: [],
      },
    ],
    alerts: [{ rule: 'tw_spike', host: 'web-1', since: 0, value: 40 }],
  };

  it('lays out the header, alerts and one row per host; escapes what agents sent', () => {
    const lines = formatWatchFrame(doc, { url: 'http://c:7070', intervalS: 2, width: 120, maxRows: 10 });
    expect(lines[0]).toBe('tcpfleet watch  http://c:7070  ranked by time_wait  every 2s  12:00:00 UTC');
    expect(lines[1]).toBe('fleet: 1 live host, 1 stale   time_wait 40  established 7  close_wait 0');
    expect(lines[3]).toBe('alerts: 1 firing: tw_spike@web-1=40');
    expect(lines[5]).toMatch(/^HOST\s+TIME_WAIT\s+LAST 1h/);
    expect(lines[6]).toMatch(/^web-1\s+40\s+/);
    expect(lines.join('\n')).not.toContain('\x1b');
    expect(lines[7]).toMatch(/^evil\\u\{1b\}\[2J\s+0 .*STALE 1m$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(120);
  });

  it('counts the rows it had no room for, and says so when there is no host', () => {
    expect(formatWatchFrame(doc, { url: 'u', intervalS: 2, width: 100, maxRows: 1 }).at(-1)).toBe('… 1 more host');
    expect(formatWatchFrame({ ...doc, hosts: [] }, { url: 'u', intervalS: 2, width: 100, maxRows: 5 }).at(-1)).toMatch(/^no hosts have reported yet/);
  });
});
