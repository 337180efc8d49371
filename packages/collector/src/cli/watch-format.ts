/**
 * The frame `tcpfleet watch` draws from one /api/v1/overview answer: a header with the fleet
 * total, firing alerts, then one row per host ranked by the chosen state with a sparkline of
 * the last hour. Pure: an overview and a width in, lines out (golden-testable).
 */
import { formatDuration, formatSsTcpLine, printable } from '@tcpfleet/common/light';
import type { SsSummary, StateCounts, TcpStateName } from '@tcpfleet/common/light';

/** The parts of /api/v1/overview the frame uses. */
export interface OverviewDoc {
  now: number;
  state: TcpStateName;
  window_ms: number;
  total: { hosts: number; stale: number; states: StateCounts; summary: SsSummary };
  hosts: { host: string; labels: Record<string, string>; states: StateCounts; summary: SsSummary; recv_ts: number; stale: boolean; value: number; spark: (number | null)[] }[];
  alerts: readonly { rule: string; host: string | null; since: number; value?: number; severity?: string; summary?: string }[];
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of `width` characters: each is the largest value of its share of the points; blank where none. */
export function sparkline(points: readonly (number | null)[], width: number): string {
  if (width <= 0) return '';
  const cols: (number | null)[] = [];
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * points.length) / width);
    const to = Math.max(from + 1, Math.floor(((c + 1) * points.length) / width));
    let m: number | null = null;
    for (let i = from; i < to && i < points.length; i++) {
      const v = points[i];
      if (v !== null && v !== undefined && (m === null || v > m)) m = v;
    }
    cols.push(m);
  }
  const vals = cols.filter((v): v is number => v !== null);
  if (vals.length === 0) return ' '.repeat(width);
  const min = Math.min(...vals);
  const span = Math.max(...vals) - min;
  return cols.map((v) => (v === null ? ' ' : BARS[span === 0 ? 0 : Math.min(7, Math.floor(((v - min) / span) * 7.999))])).join('');
}

function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, Math.max(0, n - 1)) + '…' : s.padEnd(n);
}

/** Lays out one frame. `maxRows` limits host rows (the rest is counted in a last line). */
export function formatWatchFrame(o: OverviewDoc, opts: { url: string; intervalS: number; width: number; maxRows: number }): string[] {
  const t = o.total;
  const clock = new Date(o.now).toISOString().slice(11, 19);
  const lines = [
    `tcpfleet watch  ${opts.url}  ranked by ${o.state}  every ${opts.intervalS}s  ${clock} UTC`,
    `fleet: ${t.hosts} live host${t.hosts === 1 ? '' : 's'}, ${t.stale} stale   ${[...new Set([o.state, 'established', 'time_wait', 'close_wait'] as const)].map((s) => `${s} ${t.states[s]}`).join('  ')}`,
    `ss -s over live hosts: ${formatSsTcpLine(t.summary)}`,
    o.alerts.length === 0
      ? 'alerts: none firing'
      : `alerts: ${o.alerts.length} firing: ${o.alerts
          .slice(0, 5)
          .map((a) => `${printable(a.rule)}${a.host === null ? '' : `@${printable(a.host)}`}${a.value === undefined ? '' : `=${a.value}`}`)
          .join(', ')}${o.alerts.length > 5 ? ', …' : ''}`,
    '',
  ];
  if (o.hosts.length === 0) {
    lines.push('no hosts have reported yet: start an agent with tcpfleet-agent --collector ws://HOST:PORT --token-file FILE');
    return lines;
  }
  const hostW = Math.min(28, Math.max(4, ...o.hosts.map((h) => printable(h.host).length)));
  const valW = Math.max(o.state.length, 7);
  const fixed = hostW + valW + 9 + 10 + 6 + 8 + 12 + 2 * 7;
  const sparkW = Math.max(10, Math.min(60, opts.width - fixed));
  const hours = formatDuration(o.window_ms);
  lines.push([cut('HOST', hostW), o.state.toUpperCase().padStart(valW), cut(`LAST ${hours}`, sparkW), 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'SS_TOTAL', 'STATUS'].join('  '));
  const shown = o.hosts.slice(0, Math.max(1, opts.maxRows));
  for (const h of shown) {
    lines.push(
      [
        cut(printable(h.host), hostW),
        String(h.value).padStart(valW),
        sparkline(h.spark, sparkW),
        String(h.states.time_wait).padStart(9),
        String(h.states.close_wait).padStart(10),
        String(h.states.listen).padStart(6),
        String(h.summary.total).padStart(8),
        h.stale ? `STALE ${formatDuration(Math.max(0, o.now - h.recv_ts))}` : 'live',
      ].join('  '),
    );
  }
  if (o.hosts.length > shown.length) lines.push(`… ${o.hosts.length - shown.length} more host${o.hosts.length - shown.length === 1 ? '' : 's'}`);
  return lines;
}
