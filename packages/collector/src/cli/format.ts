/**
 * Tables for people. Every value that came from an agent goes through printable(), so a host
 * name or label carrying terminal escapes cannot rewrite the screen.
 */
import { TCP_STATES, formatDuration, formatSsTcpLine, printable, stateNumber } from '@tcpfleet/common/light';
import type { SsSummary, StateCounts, TcpStateName } from '@tcpfleet/common/light';
import type { CompactHost } from '../api/compact-host.js';

/**
 * Lays out rows as aligned columns; numbers align right. Each cell's text is made once (a
 * 10,000-row table runs once, mostly before the JIT warms up: work per cell is what it costs).
 */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const n = head.length;
  const widths = head.map((h) => h.length);
  const numeric = head.map(() => rows.length > 0);
  const texts: string[][] = new Array<string[]>(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j]!;
    const t = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const c = r[i] ?? '';
      let text: string;
      if (typeof c === 'number') text = String(c);
      else {
        numeric[i] = false;
        text = printable(c);
      }
      t[i] = text;
      if (text.length > widths[i]!) widths[i] = text.length;
    }
    texts[j] = t;
  }
  const line = (t: readonly string[]): string => {
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = t[i]!;
      s += (i === 0 ? '' : '  ') + (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!));
    }
    return s.trimEnd();
  };
  const lines = [line(head)];
  for (const t of texts) lines.push(line(t));
  return lines.join('\n') + '\n';
}

/** "12s ago" style age. */
export function ago(ts: number, now: number): string {
  return `${formatDuration(Math.max(0, now - ts))} ago`;
}

/** Labels as k=v,k=v. */
export function labelText(labels: Record<string, string>): string {
  let s = '';
  for (const k in labels) s += `${s === '' ? '' : ','}${k}=${labels[k]}`;
  return s;
}

/** A row of the hosts table: a host in the compact form (states not listed are 0), or in full. */
type HostRow = CompactHost;

/** `tcpfleet hosts` */
export function formatHosts(hosts: readonly HostRow[], now: number): string {
  if (hosts.length === 0) return 'no hosts have reported yet\n';
  // Hosts report on the same few intervals: one text per distinct age in whole seconds.
  const ages = new Map<number, string>();
  const ageOf = (ts: number): string => {
    const ms = Math.max(0, now - ts);
    const key = ms < 1000 ? -1 - Math.round(ms) : Math.round(ms / 1000);
    let text = ages.get(key);
    if (text === undefined) ages.set(key, (text = ago(ts, now)));
    return text;
  };
  return table(
    ['HOST', 'ESTAB', 'SYN_RECV', 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'SS_TOTAL', 'SS_ESTAB', 'LAST_SEEN', 'STATUS', 'LABELS'],
    hosts.map((h) => [
      h.host,
      h.states.established ?? 0,
      h.states.syn_recv ?? 0,
      h.states.time_wait ?? 0,
      h.states.close_wait ?? 0,
      h.states.listen ?? 0,
      h.summary.total,
      h.summary.estab,
      ageOf(h.recv_ts),
      h.stale ? 'STALE' : 'live',
      labelText(h.labels),
    ]),
  );
}

/** What a table shows for the hosts without the label (the JSON has null). */
export const UNSET = '(unset)';

/** The answer of `total --by LABEL`. */
export interface GroupsDoc {
  by: string;
  groups: { value: string | null; hosts: number; stale: number; states: StateCounts; summary: SsSummary }[];
}

/** `tcpfleet total --by LABEL`: one row per value of the label. */
export function formatGroups(g: GroupsDoc, state: TcpStateName | null): string {
  if (g.groups.length === 0) return 'no hosts match\n';
  const head = [g.by.toUpperCase(), 'HOSTS', 'STALE'];
  if (state !== null)
    return table(
      [...head, state.toUpperCase()],
      g.groups.map((x) => [x.value ?? UNSET, x.hosts, x.stale, x.states[state]]),
    );
  return table(
    [...head, 'ESTAB', 'SYN_RECV', 'TIME_WAIT', 'CLOSE_WAIT', 'LISTEN', 'SS_TOTAL', 'SS_ESTAB'],
    g.groups.map((x) => [x.value ?? UNSET, x.hosts, x.stale, x.states.established, x.states.syn_recv, x.states.time_wait, x.states.close_wait, x.states.listen, x.summary.total, x.summary.estab]),
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
