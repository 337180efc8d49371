/**
 * A namespace's cheap counters (sockstat, sockstat6, snmp: about 2 KB of text, read every
 * interval) and the proof that its per-state counts did not change: every TCP state transition
 * sends or receives a segment (snmp InSegs/OutSegs, opens, resets), changes sockstat inuse or tw
 * (a socket hashed or unhashed, a TIME_WAIT made or expired), or is a request socket (SYN_RECV)
 * expiring after its last SYN-ACK, which only TcpExt TCPTimeouts shows. bench/namespaces-quiet.mjs
 * tests that on the live kernel (result in docs/namespaces.md): with all snmp Tcp counters and
 * sockstat alone, the request-socket expiry went unseen; with TCPTimeouts added, nothing did.
 * TCPTimeouts lives in the larger net/netstat, so it is read only for namespaces whose last walk
 * saw request sockets, and just before each walk.
 */
import { SOCKSTAT_READS, WALK_SIGNALS, parseNetNetstat, parseNetSnmp, parseSockstat, readProcFile } from '@tcpfleet/common/agent';
import type { Counters, Sockstat, StateCounts } from '@tcpfleet/common/agent';

/** The cheap counters of one namespace. */
export interface NsCounters {
  sockstat: Sockstat;
  snmp: Counters;
  bytes: number;
}

/** Reads sockstat, sockstat6 and snmp under `root` (such as /proc/1234); throws when one is missing or bad. */
export function readNsCounters(root: string): NsCounters {
  const need = (rel: string): string => {
    const t = readProcFile(root, rel);
    if (t === null) throw new Error(`${root}/${rel}: not found`);
    return t;
  };
  const sockstatText = need('net/sockstat');
  const sockstat6Text = readProcFile(root, 'net/sockstat6');
  const snmpText = need('net/snmp');
  return {
    sockstat: parseSockstat(sockstatText, sockstat6Text),
    snmp: parseNetSnmp(snmpText),
    bytes: sockstatText.length + (sockstat6Text?.length ?? 0) + snmpText.length,
  };
}

/** A sockstat figure's name in the field table, found by its kernel line and key. */
function sockstatField(line: string, key: string): keyof Sockstat {
  const f = SOCKSTAT_READS.find((x) => x.kernel.line === line && x.kernel.key === key);
  if (f === undefined) throw new Error(`the field table has no sockstat "${line}: ${key}"`);
  return f.name;
}
const TCP6_INUSE = sockstatField('TCP6', 'inuse');
const TCP_TW = sockstatField('TCP', 'tw');

/**
 * True when net/tcp6 under `root` holds no socket now, so a walk may skip it (a pass over the
 * whole shared TCP hash table, about as costly as net/tcp's: bench/NOTES.md): sockstat6
 * "TCP6: inuse" and sockstat's "TCP: tw" both 0. What net/tcp6 lists is the namespace's IPv6
 * sockets (v4-mapped ones included): listeners and connections, all counted in TCP6 inuse;
 * TIME-WAIT ones, which inuse does not count, counted in tw, which holds IPv4's and IPv6's
 * together, so only tw 0 rules them out (tw equal to the TIME-WAITs the IPv4 walk saw is not
 * enough: during that walk one IPv4 TIME-WAIT can appear and another go, docs/namespaces.md);
 * and request sockets, which hang under an IPv6 listener (counted), except after that listener
 * closed, until their SYN-ACK timer next fires and drops them (a second for a fresh one, longer
 * for one already retransmitting). Both read just after net/tcp; false when either cannot be
 * read (then net/tcp6 is read, or found absent, as before).
 */
export function noIpv6Sockets(root: string): boolean {
  try {
    const text6 = readProcFile(root, 'net/sockstat6');
    const text = readProcFile(root, 'net/sockstat');
    if (text === null || text6 === null) return false;
    const s = parseSockstat(text, text6);
    return s[TCP6_INUSE] === 0 && s[TCP_TW] === 0;
  } catch {
    return false;
  }
}

/** TcpExt TCPTimeouts under `root`, or null when it cannot be read. */
export function readTcpTimeouts(root: string): number | null {
  try {
    const t = readProcFile(root, 'net/netstat');
    return t === null ? null : (parseNetNetstat(t)['TCPTimeouts'] ?? null);
  } catch {
    return null;
  }
}

/** sockstat's per-namespace TCP figures (the field table's netns-scoped TCP and TCP6 lines: inuse, tw, inuse6). */
const NS_TCP_SOCKSTAT: readonly (keyof Sockstat)[] = SOCKSTAT_READS.filter((f) => f.scope === 'netns' && f.kernel.line.startsWith('TCP')).map((f) => f.name);

/** True when no snmp Tcp counter and none of sockstat's per-namespace TCP figures moved. */
export function sameCounters(a: NsCounters, b: NsCounters): boolean {
  for (const k of NS_TCP_SOCKSTAT) if (a.sockstat[k] !== b.sockstat[k]) return false;
  const ka = Object.keys(a.snmp);
  if (ka.length !== Object.keys(b.snmp).length) return false;
  for (const k of ka) if (a.snmp[k] !== b.snmp[k]) return false;
  return true;
}

const diff = (a: Counters, b: Counters, k: string): number => Math.abs((a[k] ?? 0) - (b[k] ?? 0));

/** The snmp Tcp counters whose changes movement() counts. */
const MOVEMENT_COUNTERS = ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab'] as const;

/** Transitions counted between two readings: opens, failures, resets and changes of inuse, tw and CurrEstab. */
export function movement(now: NsCounters, then: NsCounters): number {
  let n = 0;
  for (const k of NS_TCP_SOCKSTAT) n += Math.abs(now.sockstat[k] - then.sockstat[k]);
  for (const k of MOVEMENT_COUNTERS) n += diff(now.snmp, then.snmp, k);
  return n;
}

/** A jump, as the host's adaptive sampler defines it (the field table's WALK_SIGNALS): one moved by max(minDelta, fraction of the larger). */
export function jumped(now: NsCounters, then: NsCounters, fraction: number, minDelta: number): boolean {
  const moved = (a: number, b: number): boolean => Math.abs(a - b) >= Math.max(minDelta, fraction * Math.max(a, b));
  return WALK_SIGNALS.some((sig) => moved(sig.of(now), sig.of(then)));
}

/** Request sockets in a walk's counts: their expiry is the one transition only TCPTimeouts shows. */
export function hasRequestSockets(ipv4: StateCounts, ipv6: StateCounts): boolean {
  return ipv4.syn_recv + ipv6.syn_recv + ipv4.new_syn_recv + ipv6.new_syn_recv > 0;
}
