/**
 * /proc/net/netstat: the `TcpExt:` counters of the reader's network namespace (Linux MIB,
 * include/uapi/linux/snmp.h), by the kernel's own names: ListenOverflows, ListenDrops,
 * TCPTimeouts, TCPAbortOnClose, ... The set differs between kernels; every field present is kept.
 */
import { parseHeaderValuePairs } from './header-value-pairs.js';
import type { Counters } from './header-value-pairs.js';

/** Parses the TcpExt: pair of /proc/net/netstat. */
export function parseNetNetstat(text: string, source = 'net/netstat'): Counters {
  return parseHeaderValuePairs(text, 'TcpExt', source);
}
