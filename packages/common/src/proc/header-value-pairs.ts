/**
 * The "Name: keys" / "Name: values" line pairs of /proc/net/snmp and /proc/net/netstat.
 *
 * Each protocol has two consecutive lines with the same prefix: the first lists field names,
 * the second their values. Fields are read by name, never by position, because kernels add
 * columns over time (Tcp: InCsumErrors came in 3.10; TcpExt grows every few releases).
 */
import { ProcParseError } from '../errors.js';

/** Counters of one protocol by the kernel's own field names. */
export type Counters = Record<string, number>;

/**
 * Returns the counters of the lines with prefix `name` (e.g. "Tcp"), or throws ProcParseError
 * when the pair is missing, unbalanced or holds a value that is not an integer.
 */
export function parseHeaderValuePairs(text: string, name: string, source: string): Counters {
  const lines = text.split('\n');
  const prefix = `${name}:`;
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i] ?? '';
    if (!head.startsWith(prefix)) continue;
    const valuesLine = lines[i + 1] ?? '';
    if (!valuesLine.startsWith(prefix)) throw new ProcParseError(source, i + 2, valuesLine, `missing "${prefix}" values line`);
    const keys = head.slice(prefix.length).trim().split(/\s+/);
    const values = valuesLine.slice(prefix.length).trim().split(/\s+/);
    if (keys.length !== values.length) {
      throw new ProcParseError(source, i + 2, valuesLine, `${keys.length} names but ${values.length} values for "${prefix}"`);
    }
    const out: Counters = {};
    for (let k = 0; k < keys.length; k++) {
      const v = values[k] ?? '';
      if (!/^-?\d+$/.test(v)) throw new ProcParseError(source, i + 2, valuesLine, `value of ${keys[k] ?? '?'} is not an integer`);
      out[keys[k] ?? ''] = Number(v);
    }
    return out;
  }
  throw new ProcParseError(source, 1, lines[0] ?? '', `no "${prefix}" lines`);
}
