/**
 * Text output of `tcpfleet-agent --once`: the `ss -s` TCP line, the per-state table for IPv4
 * and IPv6 (the seed's awk count of net/tcp and net/tcp6), and the `netstat -st` Tcp counters.
 */
import { TCP_STATES, formatSsTcpLine, stateNumber } from '@tcpfleet/common/agent';
import type { Snapshot } from '@tcpfleet/common/agent';

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
  if (s.collect.errors.length > 0) {
    lines.push('');
    for (const e of s.collect.errors) lines.push(`warning: ${e}`);
  }
  return lines.join('\n') + '\n';
}
