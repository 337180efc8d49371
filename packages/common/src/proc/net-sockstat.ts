/**
 * /proc/net/sockstat and /proc/net/sockstat6.
 *
 * Kernel: net/ipv4/proc.c (sockstat_seq_show), net/ipv6/proc.c (sockstat6_seq_show).
 *
 *   sockets: used 1783
 *   TCP: inuse 27 orphan 0 tw 1 alloc 48 mem 16
 *   TCP6: inuse 10                         (sockstat6)
 *
 * Namespaces: `sockets used`, TCP `inuse`, `tw` and TCP6 `inuse` count the reader's network
 * namespace; `alloc` (sockets allocated), `orphan` and `mem` (pages) are kernel-wide.
 */
import { ProcParseError } from '../errors.js';

/** The keys of the sockstat object, in storage order. */
export const SOCKSTAT_KEYS = ['sockets_used', 'tcp_inuse', 'tcp_orphan', 'tcp_tw', 'tcp_alloc', 'tcp_mem', 'tcp6_inuse'] as const;

/** The sockstat figures tcpfleet keeps, snake_case names of "<line> <key>". */
export interface Sockstat {
  sockets_used: number;
  tcp_inuse: number;
  tcp_orphan: number;
  tcp_tw: number;
  tcp_alloc: number;
  tcp_mem: number;
  tcp6_inuse: number;
}

function keyValues(text: string, prefix: string, source: string): Map<string, number> | null {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.startsWith(prefix)) continue;
    const parts = line.slice(prefix.length).trim().split(/\s+/);
    if (parts.length % 2 !== 0) throw new ProcParseError(source, i + 1, line, 'odd number of key/value words');
    const out = new Map<string, number>();
    for (let k = 0; k < parts.length; k += 2) {
      const v = parts[k + 1] ?? '';
      if (!/^\d+$/.test(v)) throw new ProcParseError(source, i + 1, line, `value of ${parts[k] ?? '?'} is not an integer`);
      out.set(parts[k] ?? '', Number(v));
    }
    return out;
  }
  return null;
}

function need(map: Map<string, number> | null, key: string, line: string, source: string): number {
  const v = map?.get(key);
  if (v === undefined) throw new ProcParseError(source, 0, '', `"${line}" ${key} missing`);
  return v;
}

/**
 * Parses /proc/net/sockstat and, when given (null when IPv6 is off), /proc/net/sockstat6.
 */
export function parseSockstat(text: string, text6: string | null, source = 'net/sockstat', source6 = 'net/sockstat6'): Sockstat {
  const sockets = keyValues(text, 'sockets:', source);
  const tcp = keyValues(text, 'TCP:', source);
  const tcp6 = text6 === null ? null : keyValues(text6, 'TCP6:', source6);
  if (text6 !== null && tcp6 === null) throw new ProcParseError(source6, 1, text6.split('\n')[0] ?? '', 'no "TCP6:" line');
  return {
    sockets_used: need(sockets, 'used', 'sockets:', source),
    tcp_inuse: need(tcp, 'inuse', 'TCP:', source),
    tcp_orphan: need(tcp, 'orphan', 'TCP:', source),
    tcp_tw: need(tcp, 'tw', 'TCP:', source),
    tcp_alloc: need(tcp, 'alloc', 'TCP:', source),
    tcp_mem: need(tcp, 'mem', 'TCP:', source),
    tcp6_inuse: tcp6 === null ? 0 : need(tcp6, 'inuse', 'TCP6:', source6),
  };
}
