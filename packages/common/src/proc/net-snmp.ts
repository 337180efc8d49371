/**
 * /proc/net/snmp: the `Tcp:` counters (RFC 1213 tcp group) of the reader's network namespace.
 *
 * Kernel: net/ipv4/proc.c (snmp_seq_show_tcp_udp). Read by name: ActiveOpens, PassiveOpens,
 * AttemptFails, EstabResets, CurrEstab, InSegs, OutSegs, RetransSegs, InErrs, OutRsts,
 * InCsumErrors, plus RtoAlgorithm, RtoMin, RtoMax and MaxConn (-1: no limit).
 * CurrEstab counts ESTABLISHED and CLOSE_WAIT sockets on current kernels (RFC 1213's
 * tcpCurrEstab); `ss -s` prints it as "estab".
 */
import { parseHeaderValuePairs } from './header-value-pairs.js';
import type { Counters } from './header-value-pairs.js';
import { ProcParseError } from '../errors.js';

/** Field names that every kernel since 2.6 has; their absence means the file is not snmp. */
const REQUIRED = ['ActiveOpens', 'PassiveOpens', 'CurrEstab', 'InSegs', 'OutSegs', 'RetransSegs'];

/** Parses the Tcp: pair of /proc/net/snmp. */
export function parseNetSnmp(text: string, source = 'net/snmp'): Counters {
  const tcp = parseHeaderValuePairs(text, 'Tcp', source);
  for (const k of REQUIRED) if (!(k in tcp)) throw new ProcParseError(source, 1, '', `Tcp: field ${k} missing`);
  return tcp;
}
