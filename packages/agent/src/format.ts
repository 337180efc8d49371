/**
 * Text output of `tcpfleet-agent --once`: the `ss -s` TCP line, the per-state table for IPv4
 * and IPv6 (the seed's awk count of net/tcp and net/tcp6), and the `netstat -st` Tcp counters;
 * with --namespaces, one line per other network namespace.
 */
import { TCP_STATES, formatSsTcpLine, printable, stateNumber } from '@tcpfleet/common/agent';
import type { NamespaceEntry, Snapshot } from '@tcpfleet/common/agent';

const NETSTAT_TCP: readonly [string, string][] = [
  ['ActiveOpens', 'active connection openings'],
  ['PassiveOpens', 'passive connection openings'],
  ['AttemptFails', 'failed connection attempts'],
  ['EstabResets', 'connection resets received'],
  ['CurrEstab', 'connections established'],
  ['InSegs', 'segments received'],
  ['OutSegs', 'segments sent out'],
  ['RetransSegs', 'segments retransmitted'],
  ['InErrs', 'bad segments received'],
  ['OutRsts', 'resets sent'],
];

/** Renders a snapshot as the three blocks a person compares with ss and netstat. */
export function formatSnapshotText(s: Snapshot): string {
  const lines: string[] = [];
  lines.push(`host ${s.host}  ${new Date(s.ts).toISOString()}`);
  lines.push('');
  lines.push(formatSsTcpLine(s.summary));
  lines.push('');
  lines.push(`${'STATE'.padEnd(13)} ${'HEX'.padStart(3)} ${'IPv4'.padStart(8)} ${'IPv6'.padStart(8)} ${'TOTAL'.padStart(8)}`);
  for (const st of TCP_STATES) {
    const hex = stateNumber(st).toString(16).toUpperCase().padStart(2, '0');
    lines.push(`${st.padEnd(13)} ${hex.padStart(3)} ${String(s.ipv4[st]).padStart(8)} ${String(s.ipv6[st]).padStart(8)} ${String(s.states[st]).padStart(8)}`);
  }
  lines.push('');
  lines.push('Tcp:');
  for (const [key, text] of NETSTAT_TCP) {
    const v = s.snmp[key];
    if (v !== undefined) lines.push(`    ${v} ${text}`);
  }
  if (s.snmp['InCsumErrors'] !== undefined) lines.push(`    InCsumErrors: ${s.snmp['InCsumErrors']}`);
  if (s.namespaces !== undefined) lines.push('', ...formatNamespaces(s.namespaces));
  for (const e of s.collect.namespaces?.errors ?? []) lines.push('', `warning: ${e}`);
  if (s.collect.errors.length > 0) {
    lines.push('');
    for (const e of s.collect.errors) lines.push(`warning: ${e}`);
  }
  return lines.join('\n') + '\n';
}

/** One line per namespace: inode, pid, container, the main states and the total. */
function formatNamespaces(entries: readonly NamespaceEntry[]): string[] {
  const out = [
    `${'NETNS'.padEnd(11)} ${'PID'.padStart(8)} ${'RUNTIME'.padEnd(10)} ${'CONTAINER'.padEnd(40)} ${'ESTAB'.padStart(7)} ${'LISTEN'.padStart(7)} ${'TW'.padStart(7)} ${'CLOSE_WAIT'.padStart(10)} ${'TOTAL'.padStart(7)}`,
  ];
  for (const e of entries) {
    const c = e.container;
    const who =
      c === null
        ? '-'
        : [c.namespace !== undefined && c.pod !== undefined ? `${c.namespace}/${c.pod}` : undefined, c.name, c.name === undefined ? c.id.slice(0, 12) : undefined]
            .filter((x) => x !== undefined)
            .join(' ');
    const total = Object.values(e.states).reduce((a, b) => a + b, 0);
    out.push(
      `${String(e.netns).padEnd(11)} ${String(e.pid).padStart(8)} ${(c?.runtime ?? '-').padEnd(10)} ${printable(who).slice(0, 40).padEnd(40)} ${String(e.states.established).padStart(7)} ${String(e.states.listen).padStart(7)} ${String(e.states.time_wait).padStart(7)} ${String(e.states.close_wait).padStart(10)} ${String(total).padStart(7)}`,
    );
  }
  return out;
}
