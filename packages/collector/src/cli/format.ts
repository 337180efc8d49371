/**
 * Tables for people. Every value that came from an agent goes through printable(), so a host
 * name or label carrying terminal escapes cannot rewrite the screen.
 */
import { TCP_STATES, formatDuration, formatSsTcpLine, printable, stateNumber } from '@tcpfleet/common/light';
import type { SsSummary, StateCounts, TcpStateName } from '@tcpfleet/common/light';

/** Lays out rows as aligned columns; numbers align right. */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [head.map(String), ...rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : printable(c))))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (numeric[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** "12s ago" style age. */
export function ago(ts: number, now: number): string {
  return `${formatDuration(Math.max(0, now - ts))} ago`;
}

/** Labels as k=v,k=v. */
export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

interface HostRow {
  host: string;
  labels: Record<string, string>;
  states: StateCounts;
  summary: SsSummary;
  recv_ts: number;
  stale: boolean;
}

/** `tcpfleet hosts` */
export function formatHosts(hosts: readonly HostRow[], now: number): string {
  if (hosts.length === 0) return 'no hosts have reported yet\n';
  return table(
    ['HOST', 'ESTAB', 'SYN_RECV', 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'SS_TOTAL', 'SS_ESTAB', 'LAST_SEEN', 'STATUS', 'LABELS'],
    hosts.map((h) => [
      h.host,
      h.states.established,
      h.states.syn_recv,
      h.states.time_wait,
      h.states.close_wait,
      h.states.listen,
      h.summary.total,
      h.summary.estab,
      ago(h.recv_ts, now),
      h.stale ? 'STALE' : 'live',
      labelText(h.labels),
    ]),
  );
}

/** `tcpfleet total` */
export function formatTotal(t: { hosts: number; stale: number; states: StateCounts; summary: SsSummary; namespaces?: { count: number; states: StateCounts } }, state: TcpStateName | null): string {
  const ns = t.namespaces;
  const head = `fleet: ${t.hosts} live host${t.hosts === 1 ? '' : 's'}, ${t.stale} stale (left out)\n`;
  if (state !== null) return `${head}${state} ${t.states[state]}\n${ns !== undefined && ns.count > 0 ? `${state} in ${ns.count} other namespace(s) ${ns.states[state]}\n` : ''}`;
  if (ns !== undefined && ns.count > 0)
    return `${head}the hosts' own namespaces, and ${ns.count} other namespace(s) (containers; tcpfleet containers)\n${formatSsTcpLine(t.summary)}\n\n${table(
      ['STATE', 'HOSTS', 'NAMESPACES', 'ALL'],
      TCP_STATES.map((s) => [s, t.states[s], ns.states[s], t.states[s] + ns.states[s]]),
    )}`;
  return `${head}${formatSsTcpLine(t.summary)}\n\n${table(
    ['STATE', 'COUNT'],
    TCP_STATES.map((s) => [s, t.states[s]]),
  )}`;
}

/** The per-state table of one snapshot (IPv4, IPv6, total). */
export function formatStates(s: { ipv4: StateCounts; ipv6: StateCounts; states: StateCounts }): string {
  return table(
    ['STATE', 'HEX', 'IPv4', 'IPv6', 'TOTAL'],
    TCP_STATES.map((st) => [st, stateNumber(st).toString(16).toUpperCase().padStart(2, '0'), s.ipv4[st], s.ipv6[st], s.states[st]]),
  );
}
